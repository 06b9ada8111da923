// WarpScene: a face-like correspondence set on a 1024x1024 portrait for the warp tests: dlib's 68
// landmarks of a golden face (audrey.png) scaled to a face about 420 px wide, ~100 non-facial
// points on jittered rings around it (hair, ears, neck), and 40 fixed points along the border
// including the 4 corners. Motions are deterministic.
using Vivify.Geometry;

namespace Vivify.Tests.Warping;

public sealed class WarpScene
{
    public const int Size = 1024;
    public PointD[] Reference { get; }
    public bool[] Facial { get; }
    public bool[] Border { get; }
    public PointD FaceCentre { get; }

    public int Count => Reference.Length;

    public WarpScene()
    {
        var row = TestData.GoldenLandmarks.First(r => r.Image == "audrey.png" && r.BoxSource == "dlib_hog");
        var lm = row.Landmarks;
        double mx = lm.Average(p => p.X), my = lm.Average(p => p.Y);
        double scale = 420 / (lm[16].X - lm[0].X);
        FaceCentre = new PointD(512, 540);
        var pts = lm.Select(p => new PointD(FaceCentre.X + scale * (p.X - mx), FaceCentre.Y + scale * (p.Y - my))).ToList();
        var facial = Enumerable.Repeat(true, 68).ToList();

        // non-facial rings: semi-axes from the landmark extent
        double ax = pts.Max(p => Math.Abs(p.X - FaceCentre.X)), ay = pts.Max(p => Math.Abs(p.Y - FaceCentre.Y));
        var rnd = new Random(7);
        foreach (var (f, n) in new[] { (1.2, 28), (1.5, 34), (1.85, 40) })
            for (int k = 0; k < n; k++)
            {
                double a = 2 * Math.PI * (k + 0.5 * rnd.NextDouble()) / n;
                double rr = f * (1 + 0.06 * (rnd.NextDouble() - 0.5));
                var p = new PointD(FaceCentre.X + rr * ax * Math.Cos(a), FaceCentre.Y + rr * ay * Math.Sin(a));
                if (p.X < 12 || p.Y < 12 || p.X > Size - 13 || p.Y > Size - 13) continue;
                pts.Add(p); facial.Add(false);
            }
        int nonBorder = pts.Count;
        // border ring: 10 per side, corners included
        double last = Size - 1;
        for (int k = 0; k < 10; k++)
        {
            double t = last * k / 10;
            pts.Add(new PointD(t, 0)); pts.Add(new PointD(last, t)); pts.Add(new PointD(last - t, last)); pts.Add(new PointD(0, last - t));
            facial.AddRange([false, false, false, false]);
        }
        Reference = pts.ToArray();
        Facial = facial.ToArray();
        Border = Enumerable.Range(0, Count).Select(i => i >= nonBorder).ToArray();
    }

    public PointD[] Identity() => (PointD[])Reference.Clone();

    /// <summary>Every non-border point moved by (dx, dy).</summary>
    public PointD[] Translated(double dx, double dy)
        => Reference.Select((p, i) => Border[i] ? p : new PointD(p.X + dx, p.Y + dy)).ToArray();

    /// <summary>
    /// A "talking" frame: the face rotates 6 degrees and moves (18, 9), the mouth opens (lower lip
    /// and chin down up to 16 px); non-facial points follow the head with a weight fading with
    /// distance, plus independent jitter of up to 6 px (the untrustworthy tracks); border fixed.
    /// </summary>
    public PointD[] Talking(double amount = 1)
    {
        var c = FaceCentre;
        double ang = amount * 6 * Math.PI / 180, cs = Math.Cos(ang), sn = Math.Sin(ang);
        PointD Rigid(PointD p) => new(c.X + cs * (p.X - c.X) - sn * (p.Y - c.Y) + 18 * amount,
                                     c.Y + sn * (p.X - c.X) + cs * (p.Y - c.Y) + 9 * amount);
        var rnd = new Random(11);
        var cur = new PointD[Count];
        for (int i = 0; i < Count; i++)
        {
            var p = Reference[i];
            if (Border[i]) { cur[i] = p; continue; }
            if (Facial[i])
            {
                double open = i is >= 5 and <= 11 ? 16 : i is >= 55 and <= 59 or >= 64 ? 12 : 0;
                cur[i] = Rigid(p) + new PointD(0, open * amount);
                continue;
            }
            double dist = PointD.Distance(p, c);
            double follow = Math.Clamp(1.4 - dist / 400, 0.2, 1);
            var q = Rigid(p);
            cur[i] = p + follow * (q - p) + amount * new PointD(6 * (rnd.NextDouble() * 2 - 1), 6 * (rnd.NextDouble() * 2 - 1));
        }
        return cur;
    }
}
