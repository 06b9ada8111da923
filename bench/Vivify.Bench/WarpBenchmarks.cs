// WarpBenchmarks: per-frame cost of the confidence-aware warp on a 1024x1024 portrait with 68
// facial points (a parametric face), ~100 non-facial points on rings around it and 40 fixed
// border points; frames are a head that turns, moves and opens its mouth, with jittered
// non-facial tracks. Run: dotnet run -c Release --project bench/Vivify.Bench -- --filter '*Warp*'
using BenchmarkDotNet.Attributes;
using OpenCvSharp;
using Vivify.Geometry;
using Vivify.Warping;

namespace Vivify.Bench;

[SimpleJob(warmupCount: 3, iterationCount: 12)]
public class WarpBenchmarks
{
    private const int Size = 1024;
    private ConfidenceAwareWarp _warp = null!;
    private PointD[][] _frames = null!;
    private Mat _portrait = null!, _output = null!;
    private int _k;

    [GlobalSetup]
    public void Setup()
    {
        var (reference, facial) = Scene();
        _warp = new ConfidenceAwareWarp(Size, Size, reference, facial);
        _frames = Enumerable.Range(0, 30).Select(k => Move(reference, facial, Math.Sin(k * 0.3), k)).ToArray();
        _portrait = new Mat(Size, Size, MatType.CV_8UC3);
        Cv2.Randu(_portrait, Scalar.All(0), Scalar.All(255));
        _output = new Mat();
        _warp.Warp(_frames[0], _portrait, _output);
    }

    [GlobalCleanup]
    public void Cleanup() { _warp.Dispose(); _portrait.Dispose(); _output.Dispose(); }

    [Benchmark(Description = "BuildMap (optimised)")]
    public void BuildMap() => _warp.BuildMap(_frames[_k++ % _frames.Length]);

    [Benchmark(Description = "Apply (remap 8UC3)")]
    public void Apply() => _warp.Apply(_portrait, _output);

    [Benchmark(Baseline = true, Description = "BuildMap + Apply (one frame)")]
    public void Frame() => _warp.Warp(_frames[_k++ % _frames.Length], _portrait, _output);

    private static (PointD[] pts, bool[] facial) Scene()
    {
        var pts = new List<PointD>();
        PointD c = new(512, 540);
        PointD E(double a, double rx, double ry, double cx = 0, double cy = 0) => new(c.X + cx + rx * Math.Cos(a), c.Y + cy + ry * Math.Sin(a));
        for (int i = 0; i < 17; i++) pts.Add(E(Math.PI * (1 - i / 16.0) * -1 + Math.PI, 210, 250, 0, -40));        // jaw, ear to ear through the chin
        for (int s = -1; s <= 1; s += 2) for (int i = 0; i < 5; i++) pts.Add(E(Math.PI * (1.15 + 0.7 * i / 4), 70, 30, 95 * s, -120));   // brows
        for (int i = 0; i < 4; i++) pts.Add(new PointD(c.X, c.Y - 90 + 30 * i));                                // nose bridge
        for (int i = 0; i < 5; i++) pts.Add(new PointD(c.X - 40 + 20 * i, c.Y + 40 + (i == 2 ? 5 : 0)));        // nostrils
        for (int s = -1; s <= 1; s += 2) for (int i = 0; i < 6; i++) pts.Add(E(2 * Math.PI * i / 6, 40, 18, 95 * s, -70));   // eyes
        for (int i = 0; i < 12; i++) pts.Add(E(2 * Math.PI * i / 12, 90, 40, 0, 120));                          // outer lips
        for (int i = 0; i < 8; i++) pts.Add(E(2 * Math.PI * i / 8, 60, 15, 0, 120));                            // inner lips
        var facial = Enumerable.Repeat(true, pts.Count).ToList();
        var rnd = new Random(7);
        foreach (var (f, n) in new[] { (1.25, 28), (1.55, 34), (1.9, 40) })
            for (int k = 0; k < n; k++)
            {
                var p = E(2 * Math.PI * (k + 0.5 * rnd.NextDouble()) / n, 210 * f, 290 * f);
                if (p.X < 12 || p.Y < 12 || p.X > Size - 13 || p.Y > Size - 13) continue;
                pts.Add(p); facial.Add(false);
            }
        double last = Size - 1;
        for (int k = 0; k < 10; k++)
        {
            double t = last * k / 10;
            pts.AddRange([new(t, 0), new(last, t), new(last - t, last), new(0, last - t)]);
            facial.AddRange([false, false, false, false]);
        }
        return (pts.ToArray(), facial.ToArray());
    }

    private static PointD[] Move(PointD[] reference, bool[] facial, double amount, int seed)
    {
        PointD c = new(512, 540);
        double a = amount * 6 * Math.PI / 180, cs = Math.Cos(a), sn = Math.Sin(a);
        var rnd = new Random(seed);
        return reference.Select((p, i) =>
        {
            if (p.X <= 0 || p.Y <= 0 || p.X >= Size - 1 || p.Y >= Size - 1) return p;   // border ring stays
            var q = new PointD(c.X + cs * (p.X - c.X) - sn * (p.Y - c.Y) + 18 * amount, c.Y + sn * (p.X - c.X) + cs * (p.Y - c.Y) + 9 * amount);
            if (facial[i]) return q + new PointD(0, p.Y > c.Y + 100 ? 14 * Math.Abs(amount) : 0);
            double follow = Math.Clamp(1.4 - PointD.Distance(p, c) / 400, 0.2, 1);
            return p + follow * (q - p) + new PointD(6 * (rnd.NextDouble() * 2 - 1), 6 * (rnd.NextDouble() * 2 - 1));
        }).ToArray();
    }
}
