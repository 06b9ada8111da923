// EyeFrame: one of the portrait's eyes as a frame of reference for the eye stages (EyelidClosure,
// EyeWidening): h along the line from one corner to the other, v up from it (image y points down),
// in portrait pixels; its lids as polylines in that frame; and the similarity that takes an animated
// eye's corners onto the portrait's, so an animated eye can be read in the same frame (the eyeball
// moving with the head, unsquashed); and the helpers both stages read those with (Along,
// InsideDistance).
// Requires: the eye's six landmarks in dlib's order (corner, two upper lid points, corner, two lower
// lid points); corners at least 1e-6 px apart (Create returns null otherwise).
// Guarantees: Frame and FromFrame are inverse; Lids gives each lid's four points (corner, the two lid
// points, corner) in order of h for an upright eye.
using Vivify.Geometry;

namespace Vivify.Eyes;

internal sealed class EyeFrame
{
    /// <summary>The six landmarks' positions in each lid's polyline: upper (corner, 37/43, 38/44, corner), lower (corner, 41/47, 40/46, corner).</summary>
    private static readonly int[] Upper = [0, 1, 2, 3], Lower = [0, 5, 4, 3];

    public PointD Corner0 { get; }
    public PointD Corner1 { get; }
    /// <summary>Corner to corner, portrait pixels.</summary>
    public double Width { get; }
    private readonly double _ex, _ey;

    private EyeFrame(PointD p0, PointD p1, double width)
    {
        Corner0 = p0; Corner1 = p1; Width = width;
        _ex = (p1.X - p0.X) / width; _ey = (p1.Y - p0.Y) / width;
    }

    /// <summary>The frame of the eye whose six landmarks are <paramref name="landmarks"/>[<paramref name="idx"/>]; null for collapsed corners.</summary>
    public static EyeFrame? Create(ReadOnlySpan<PointD> landmarks, int[] idx)
    {
        PointD p0 = landmarks[idx[0]], p1 = landmarks[idx[3]];
        double width = PointD.Distance(p0, p1);
        return width < 1e-6 ? null : new EyeFrame(p0, p1, width);
    }

    /// <summary>The frame's up direction (v) in image coordinates.</summary>
    public (double X, double Y) Up => (_ey, -_ex);

    public (double H, double V) Frame(PointD q) { double rx = q.X - Corner0.X, ry = q.Y - Corner0.Y; return (rx * _ex + ry * _ey, rx * _ey - ry * _ex); }
    public PointD FromFrame(double h, double v) => new(Corner0.X + h * _ex + v * _ey, Corner0.Y + h * _ey - v * _ex);

    /// <summary>The lids of the eye whose six points <paramref name="eye"/> gives (already in portrait pixels), as polylines in this frame.</summary>
    public (double[] UpperH, double[] UpperV, double[] LowerH, double[] LowerV) Lids(Func<int, PointD> eye)
    {
        var lids = (new double[4], new double[4], new double[4], new double[4]);
        for (int k = 0; k < 4; k++)
        {
            (lids.Item1[k], lids.Item2[k]) = Frame(eye(Upper[k]));
            (lids.Item3[k], lids.Item4[k]) = Frame(eye(Lower[k]));
        }
        return lids;
    }

    /// <summary>The similarity taking the animated eye's corners (<paramref name="c0"/>, <paramref name="c1"/>) onto this eye's;
    /// null when the animated corners meet.</summary>
    public CornerSimilarity? From(PointD c0, PointD c1)
    {
        double cdx = c1.X - c0.X, cdy = c1.Y - c0.Y, den = cdx * cdx + cdy * cdy;
        if (den < 1e-6) return null;
        double pdx = Corner1.X - Corner0.X, pdy = Corner1.Y - Corner0.Y;
        return new CornerSimilarity(c0, Corner0, (pdx * cdx + pdy * cdy) / den, (pdy * cdx - pdx * cdy) / den);
    }

    /// <summary>z -> a (z - c0) + p0 in complex numbers: an animated eye's points in the portrait's pixels.</summary>
    internal readonly record struct CornerSimilarity(PointD C0, PointD P0, double Ar, double Ai)
    {
        public PointD ToPortrait(double x, double y) { double dx = x - C0.X, dy = y - C0.Y; return new(P0.X + Ar * dx - Ai * dy, P0.Y + Ai * dx + Ar * dy); }
        /// <summary>How much the similarity enlarges (portrait pixels per animated pixel).</summary>
        public double Scale => Math.Sqrt(Ar * Ar + Ai * Ai);
    }

    /// <summary>The height of a polyline (given by increasing positions hs and heights vs) at position h.</summary>
    internal static double Along(double[] hs, double[] vs, double h) => Polyline.At(hs, vs, h);

    /// <summary>Signed distance from (x, y) to the polygon's boundary: positive inside, negative outside.</summary>
    internal static double InsideDistance(PointD[] poly, double x, double y)
    {
        bool inside = false;
        double best = double.MaxValue;
        for (int i = 0, j = poly.Length - 1; i < poly.Length; j = i++)
        {
            PointD a = poly[j], b = poly[i];
            if ((b.Y > y) != (a.Y > y) && x < (a.X - b.X) * (y - b.Y) / (a.Y - b.Y) + b.X) inside = !inside;
            double ex = b.X - a.X, ey = b.Y - a.Y, len2 = ex * ex + ey * ey;
            double t = len2 > 0 ? Math.Clamp(((x - a.X) * ex + (y - a.Y) * ey) / len2, 0, 1) : 0;
            double qx = a.X + t * ex - x, qy = a.Y + t * ey - y;
            best = Math.Min(best, qx * qx + qy * qy);
        }
        double d = Math.Sqrt(best);
        return inside ? d : -d;
    }
}
