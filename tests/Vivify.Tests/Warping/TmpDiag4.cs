using OpenCvSharp;
using Vivify.Warping;
using Xunit.Abstractions;
namespace Vivify.Tests.Warping;
public class TmpDiag4(ITestOutputHelper output)
{
    static unsafe float[] A(Mat m) { var a = new float[m.Rows * m.Cols]; for (int y = 0; y < m.Rows; y++) new ReadOnlySpan<float>((float*)m.Ptr(y), m.Cols).CopyTo(a.AsSpan(y * m.Cols)); return a; }
    [Fact]
    public void Where()
    {
        var scene = new WarpScene(); int N = 1024;
        using var warp = new ConfidenceAwareWarp(N, N, scene.Reference, scene.Facial);
        var cur = scene.Talking();
        warp.BuildMap(cur);
        using var rx = new Mat(); using var ry = new Mat();
        warp.BuildMapReference(cur, rx, ry);
        foreach (var (name, mx, my) in new[] { ("opt", A(warp.MapX), A(warp.MapY)), ("ref", A(rx), A(ry)) })
        {
            var list = new List<(double v, int x, int y, string dir)>();
            for (int y = 1; y < N - 1; y++)
                for (int x = 1; x < N - 1; x++)
                {
                    int i = y * N + x;
                    if (warp.DistanceFromFace(mx[i], my[i]) < 174) continue;
                    foreach (var (m, c) in new[] { (mx, "X"), (my, "Y") })
                    {
                        list.Add((Math.Abs(m[i - 1] - 2 * m[i] + m[i + 1]), x, y, c + "xx"));
                        list.Add((Math.Abs(m[i - N] - 2 * m[i] + m[i + N]), x, y, c + "yy"));
                    }
                }
            list.Sort((a, b) => b.v.CompareTo(a.v));
            foreach (var e in list.Take(8)) output.WriteLine($"{name} {e.v:0.0000} at ({e.x},{e.y}) {e.dir} d={warp.DistanceFromFace(mx[e.y * N + e.x], my[e.y * N + e.x]):0.0}");
            var hist = new int[8];
            foreach (var e in list) { int b = e.v < 0.001 ? 0 : e.v < 0.002 ? 1 : e.v < 0.005 ? 2 : e.v < 0.01 ? 3 : e.v < 0.02 ? 4 : 5; hist[b]++; }
            output.WriteLine($"{name} hist <.001 {hist[0]} <.002 {hist[1]} <.005 {hist[2]} <.01 {hist[3]} <.02 {hist[4]} more {hist[5]}");
        }
    }
}
