// WarpScene: a face-like correspondence set for the warp tests. Default: a 1024x1024 portrait
// with dlib's 68 landmarks of a golden face (audrey.png) scaled to a face about 420 px wide;
// ForGoldenImage: a golden image's own landmarks in its own size. Around the face, ~100
// non-facial points on jittered rings (hair, ears, neck), and 40 fixed points along the border
// including the 4 corners. Inner lips are separated (Dlib68Mesh.SeparateInnerLips) and warps
// are built with the lip and eye contours as constraint edges. Motions are deterministic.
using Vivify.Geometry;
using Vivify.Warping;

namespace Vivify.Tests.Warping;

public sealed class WarpScene
{
    public const int Size = 1024;
    public int Width { get; }
    public int Height { get; }
    public PointD[] Reference { get; }
    public bool[] Facial { get; }
    public bool[] Border { get; }
    public PointD FaceCentre { get; }

    public int Count => Reference.Length;

    public WarpScene() : this(Size, Size, Audrey()) { }

    private static PointD[] Audrey()
    {
        var lm = TestData.GoldenLandmarks.First(r => r.Image == "audrey.png" && r.BoxSource == "dlib_hog").Landmarks;
        double mx = lm.Average(p => p.X), my = lm.Average(p => p.Y);
        double scale = 420 / (lm[16].X - lm[0].X);
        return lm.Select(p => new PointD(512 + scale * (p.X - mx), 540 + scale * (p.Y - my))).ToArray();
    }

    /// <summary>The golden landmarks of an image, in that image's own size.</summary>
    public static WarpScene ForGoldenImage(string image, int width, int height)
        => new(width, height, TestData.GoldenLandmarks.First(r => r.Image == image && r.BoxSource == "dlib_hog").Landmarks);

    public WarpScene(int width, int height, PointD[] landmarks)
    {
        Width = width; Height = height;
        FaceCentre = new PointD(landmarks.Average(p => p.X), landmarks.Average(p => p.Y));
        var pts = Dlib68Mesh.SeparateInnerLips(landmarks).ToList();
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
                if (p.X < 12 || p.Y < 12 || p.X > width - 13 || p.Y > height - 13) continue;
                pts.Add(p); facial.Add(false);
            }
        int nonBorder = pts.Count;
        // border ring: 10 per side, corners included
        double lx = width - 1, ly = height - 1;
        for (int k = 0; k < 10; k++)
        {
            double tx = lx * k / 10, ty = ly * k / 10;
            pts.Add(new PointD(tx, 0)); pts.Add(new PointD(lx, ty)); pts.Add(new PointD(lx - tx, ly)); pts.Add(new PointD(0, ly - ty));
            facial.AddRange([false, false, false, false]);
        }
        Reference = pts.ToArray();
        Facial = facial.ToArray();
        Border = Enumerable.Range(0, Count).Select(i => i >= nonBorder).ToArray();
    }

    /// <summary>Lip and eye contours the triangulation must keep (the landmarks are points 0-67).</summary>
    public (int A, int B)[] Constraints { get; } = Dlib68Mesh.ConstraintEdges();

    public ConfidenceAwareWarp CreateWarp(WarpOptions? options = null, bool constrained = true)
        => new(Width, Height, Reference, Facial, options, constrained ? Constraints : []);

    public PointD[] Identity() => (PointD[])Reference.Clone();

    /// <summary>Every non-border point moved by (dx, dy).</summary>
    public PointD[] Translated(double dx, double dy)
        => Reference.Select((p, i) => Border[i] ? p : new PointD(p.X + dx, p.Y + dy)).ToArray();

    /// <summary>
    /// A "talking" frame: the face rotates 6 degrees and moves (18, 9), the mouth opens (lower lip
    /// and chin down up to 16 px, scaled with the face: sizes are for a face 420 px wide); non-facial points follow the head with a weight fading with
    /// distance, plus independent jitter of up to 6 px (the untrustworthy tracks); border fixed.
    /// </summary>
    public PointD[] Talking(double amount = 1)
    {
        var c = FaceCentre;
        double u = (Reference[16].X - Reference[0].X) / 420;
        double ang = amount * 6 * Math.PI / 180, cs = Math.Cos(ang), sn = Math.Sin(ang);
        PointD Rigid(PointD p) => new(c.X + cs * (p.X - c.X) - sn * (p.Y - c.Y) + 18 * u * amount,
                                     c.Y + sn * (p.X - c.X) + cs * (p.Y - c.Y) + 9 * u * amount);
        var rnd = new Random(11);
        var cur = new PointD[Count];
        for (int i = 0; i < Count; i++)
        {
            var p = Reference[i];
            if (Border[i]) { cur[i] = p; continue; }
            if (Facial[i])
            {
                double open = i is >= 5 and <= 11 ? 16 : i is >= 55 and <= 59 or >= 65 ? 12 : 0;   // chin, lower lip
                cur[i] = Rigid(p) + new PointD(0, open * u * amount);
                continue;
            }
            double dist = PointD.Distance(p, c);
            double follow = Math.Clamp(1.4 - dist / (400 * u), 0.2, 1);
            var q = Rigid(p);
            cur[i] = p + follow * (q - p) + amount * u * new PointD(6 * (rnd.NextDouble() * 2 - 1), 6 * (rnd.NextDouble() * 2 - 1));
        }
        return cur;
    }
}
