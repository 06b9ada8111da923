// FaceLandmarks: measures on a 68-point landmark set (iBUG 300-W numbering: 0-16 jaw,
// 17-26 brows, 27-35 nose, 36-47 eyes, 48-59 outer lips, 60-67 inner lips), and the box the
// shape predictor expects for a given set of points.
// Guarantees: BoxFor is the least-squares (scale + translation) placement of the model's mean
// shape onto the points, i.e. the box in which the predictor's initial guess best matches them.
using Vivify.Geometry;

namespace Vivify.Faces;

public static class FaceLandmarks
{
    public const int Count = 68;

    public static PointD LeftEyeCenter(ReadOnlySpan<PointD> p) => Mean(p[36..42]);
    public static PointD RightEyeCenter(ReadOnlySpan<PointD> p) => Mean(p[42..48]);

    /// <summary>Distance between the two eye centres (means of points 36-41 and 42-47).</summary>
    public static double InterOcularDistance(ReadOnlySpan<PointD> p) => PointD.Distance(LeftEyeCenter(p), RightEyeCenter(p));

    /// <summary>An eye's opening, its aspect ratio: the mean of the two lid-to-lid heights over the corner-to-corner width.
    /// Eye 0: points 36-41, eye 1: 42-47 (corner, two upper lid points, corner, two lower lid points); 0 for a collapsed eye.</summary>
    public static double EyeAspectRatio(ReadOnlySpan<PointD> p, int eye)
    {
        int o = 36 + 6 * eye;
        double width = PointD.Distance(p[o], p[o + 3]);
        if (width < 1e-6) return 0;
        return (PointD.Distance(p[o + 1], p[o + 5]) + PointD.Distance(p[o + 2], p[o + 4])) / (2 * width);
    }

    public static PointD Mean(ReadOnlySpan<PointD> p)
    {
        double x = 0, y = 0;
        foreach (var q in p) { x += q.X; y += q.Y; }
        return new PointD(x / p.Length, y / p.Length);
    }

    /// <summary>
    /// The square box (dlib convention) in which the predictor's mean shape best fits the given
    /// points: minimises sum |box(mean_i) - p_i|^2 over left, top and size.
    /// </summary>
    public static FaceBox BoxFor(ReadOnlySpan<PointD> points, ReadOnlySpan<float> meanShape)
    {
        int n = points.Length;
        double msx = 0, msy = 0;
        for (int i = 0; i < n; i++) { msx += meanShape[2 * i]; msy += meanShape[2 * i + 1]; }
        msx /= n; msy /= n;
        var mp = Mean(points);
        double num = 0, den = 0;
        for (int i = 0; i < n; i++)
        {
            double sx = meanShape[2 * i] - msx, sy = meanShape[2 * i + 1] - msy;
            num += sx * (points[i].X - mp.X) + sy * (points[i].Y - mp.Y);
            den += sx * sx + sy * sy;
        }
        double size = Math.Max(num / den, 1);
        double left = mp.X - size * msx, top = mp.Y - size * msy;
        int l = (int)Math.Round(left), t = (int)Math.Round(top), s = (int)Math.Round(size);
        return new FaceBox(l, t, l + s, t + s);
    }
}
