using OpenCvSharp;
using Vivify.Warping;
using Xunit.Abstractions;
namespace Vivify.Tests.Warping;
public class TmpDiag5(ITestOutputHelper output)
{
    static unsafe float[] A(Mat m) { var a = new float[m.Rows * m.Cols]; for (int y = 0; y < m.Rows; y++) new ReadOnlySpan<float>((float*)m.Ptr(y), m.Cols).CopyTo(a.AsSpan(y * m.Cols)); return a; }
    [Fact]
    public void ErrByDist()
    {
        var scene = new WarpScene(); int N = 1024;
        foreach (var o in new[] { new WarpOptions(), new WarpOptions { MinRadiusPx = 12 }, new WarpOptions { MinRadiusPx = 16 }, new WarpOptions { FieldScale = 2 } })
        {
        using var warp = new ConfidenceAwareWarp(N, N, scene.Reference, scene.Facial, o);
        var cur = scene.Talking();
        warp.BuildMap(cur);
        using var rx = new Mat(); using var ry = new Mat();
        warp.BuildMapReference(cur, rx, ry);
        var ox = A(warp.MapX); var oy = A(warp.MapY); var ax = A(rx); var ay = A(ry);
        double[] edges = [0, 5, 10, 20, 40, 80, 160, 320, 1e9];
        var sum = new double[8]; var max = new double[8]; var cnt = new long[8]; var where = new (int, int)[8];
        for (int y = 0; y < N; y++) for (int x = 0; x < N; x++)
        {
            int i = y * N + x; double d = warp.DistanceFromFace(ax[i], ay[i]); if (d < 0) continue;
            int b = 0; while (d >= edges[b + 1]) b++;
            double e = Math.Max(Math.Abs(ox[i] - ax[i]), Math.Abs(oy[i] - ay[i]));
            sum[b] += e; cnt[b]++; if (e > max[b]) { max[b] = e; where[b] = (x, y); }
        }
        output.WriteLine($"{o.MinRadiusPx} scale {o.FieldScale}: " + string.Join(" | ", Enumerable.Range(0, 8).Select(b => $"d<{edges[b + 1]}: mean {sum[b] / Math.Max(1, cnt[b]):0.000} max {max[b]:0.00} @{where[b]}")));
        }
    }
}
