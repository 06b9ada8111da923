// ExpressionMeasures: landmark-based expression measures for finding reactions in driving videos
// (TECHNIQUE.md stage 7). Each frame's 68 landmarks are put in a face frame (origin at the left
// eye centre, x along the eye line, unit = the inter-ocular distance, IOD), so head position,
// roll and scale drop out; the measures are then distances in IOD units:
//   MouthWidth  corner to corner (48-54), wider in a smile;
//   CornerLift  how far the corners sit above the upper lip's middle (51), up in a smile;
//   MouthOpen   inner-lip gap (61-67, 62-66, 63-65), open in surprise, laugh, talk;
//   BrowRaise   eye corners' mean height below the brows' mean height (17-26 vs 36, 39, 42, 45), up in surprise;
//   BrowKnit    distance between the inner brow ends (21-22), smaller in a frown;
//   EyeOpen     eye aspect ratio (lid gap over eye width, both eyes), near 0 in a blink;
//   Yaw, Pitch  rough head pose: the nose tip between the jaw's sides, and between the eyes and the chin.
// Distance() is the TECHNIQUE's "landmark distance from neutral": the frame is aligned onto the
// neutral frame by a similarity fitted on the rigid points (eye corners, nose), then the mean
// displacement of the expressive points (brows, eyes, nose, mouth) in the neutral's IOD.
// Requires: 68-point sets (iBUG numbering). Guarantees: pure functions, no allocation beyond a
// small array; invariant to translation, rotation and scale of the input.
using Vivify.Faces;
using Vivify.Geometry;

namespace Vivify.Reactions;

public readonly record struct FaceMeasures(double MouthWidth, double CornerLift, double MouthOpen, double BrowRaise, double BrowKnit, double EyeOpen,
    double Yaw = 0, double Pitch = 0)
{
    public static FaceMeasures operator -(FaceMeasures a, FaceMeasures b) => new(a.MouthWidth - b.MouthWidth, a.CornerLift - b.CornerLift,
        a.MouthOpen - b.MouthOpen, a.BrowRaise - b.BrowRaise, a.BrowKnit - b.BrowKnit, a.EyeOpen - b.EyeOpen, a.Yaw - b.Yaw, a.Pitch - b.Pitch);

    public static FaceMeasures Mean(IReadOnlyList<FaceMeasures> m)
    {
        if (m.Count == 0) return default;
        double a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0;
        foreach (var x in m) { a += x.MouthWidth; b += x.CornerLift; c += x.MouthOpen; d += x.BrowRaise; e += x.BrowKnit; f += x.EyeOpen; g += x.Yaw; h += x.Pitch; }
        int n = m.Count;
        return new(a / n, b / n, c / n, d / n, e / n, f / n, g / n, h / n);
    }
}

public static class ExpressionMeasures
{
    /// <summary>Points that move little with expression: eye corners and the nose.</summary>
    public static readonly int[] RigidPoints = [36, 39, 42, 45, 27, 28, 29, 30, 31, 32, 33, 34, 35];

    public static FaceMeasures Measure(ReadOnlySpan<PointD> p)
    {
        if (p.Length != FaceLandmarks.Count) throw new ArgumentException("68 landmarks expected");
        var el = FaceLandmarks.LeftEyeCenter(p);
        var er = FaceLandmarks.RightEyeCenter(p);
        double iod = Math.Max(1e-9, PointD.Distance(el, er));
        double ang = Math.Atan2(er.Y - el.Y, er.X - el.X), c = Math.Cos(-ang) / iod, s = Math.Sin(-ang) / iod;
        Span<PointD> f = stackalloc PointD[FaceLandmarks.Count];
        for (int k = 0; k < f.Length; k++)
        {
            double x = p[k].X - el.X, y = p[k].Y - el.Y;
            f[k] = new PointD(x * c - y * s, x * s + y * c);
        }
        double width = PointD.Distance(f[48], f[54]);
        double lift = f[51].Y - (f[48].Y + f[54].Y) / 2; // y grows downwards: corners above the lip middle -> larger
        double open = (PointD.Distance(f[61], f[67]) + PointD.Distance(f[62], f[66]) + PointD.Distance(f[63], f[65])) / 3;
        double eyesY = 0, browsY = 0;
        foreach (int k in (ReadOnlySpan<int>)[36, 39, 42, 45]) eyesY += f[k].Y;   // eye corners: lids closing must not read as a brow raise
        for (int k = 17; k < 27; k++) browsY += f[k].Y;
        double brow = eyesY / 4 - browsY / 10;
        double knit = PointD.Distance(f[21], f[22]);
        double eye = (FaceLandmarks.EyeAspectRatio(f, 0) + FaceLandmarks.EyeAspectRatio(f, 1)) / 2;
        // head pose, roughly: the nose tip's place between the jaw's sides (yaw) and between the eyes and chin (pitch)
        double jawL = f[0].X, jawR = f[16].X;
        double yaw = (f[30].X - (jawL + jawR) / 2) / Math.Max(1e-9, jawR - jawL);
        double pitch = f[30].Y / Math.Max(1e-9, f[8].Y);
        return new FaceMeasures(width, lift, open, brow, knit, eye, yaw, pitch);
    }

    /// <summary>Mean displacement of points 17-67 from the neutral's after similarity alignment on the rigid points, in the neutral's IOD.</summary>
    public static double Distance(PointD[] neutral, PointD[] frame)
    {
        var sim = Similarity.Fit(frame, neutral, RigidPoints);
        double sum = 0;
        for (int k = 17; k < FaceLandmarks.Count; k++) sum += PointD.Distance(sim.Apply(frame[k]), neutral[k]);
        return sum / (FaceLandmarks.Count - 17) / Math.Max(1e-9, FaceLandmarks.InterOcularDistance(neutral));
    }
}
