// Dlib68Mesh: what the warp needs to know about the 68-point iBUG landmark layout (0-16 jaw,
// 17-26 brows, 27-35 nose, 36-47 eyes, 48-59 outer lips, 60-67 inner lips) to animate a mouth
// and eyes without tearing.
// Requires: the 68 landmarks stored contiguously from index `first` of the point list.
// Guarantees: ConstraintEdges lists the outer-lip loop, the inner-lip loop, the two lip-corner
// links (48-60, 54-64), and both eye loops: with them in the triangulation every triangle lies
// in one of upper lip, lower lip, mouth interior, eye, or outside these, so a moving jaw or lid
// stretches the mouth interior or eye and never a triangle spanning both lips.
// SeparateInnerLips returns a copy of the points in which each facing pair of inner-lip points
// (61-67, 62-66, 63-65) is at least minGap apart along the mouth's downward normal (a closed
// mouth's predicted lips often touch or cross, which would make the inner-lip loop cross
// itself); the other points are unchanged, the moved ones by at most (minGap - gap) / 2 each.
using Vivify.Geometry;

namespace Vivify.Warping;

public static class Dlib68Mesh
{
    public const int Count = 68;

    public static (int A, int B)[] ConstraintEdges(int first = 0)
    {
        var e = new List<(int, int)>();
        void Loop(int from, int to) { for (int i = from; i <= to; i++) e.Add((first + i, first + (i == to ? from : i + 1))); }
        Loop(48, 59); Loop(60, 67);
        e.Add((first + 48, first + 60)); e.Add((first + 54, first + 64));
        Loop(36, 41); Loop(42, 47);
        return e.ToArray();
    }

    public static PointD[] SeparateInnerLips(ReadOnlySpan<PointD> points, int first = 0, double minGap = 0.5)
    {
        if (points.Length < first + Count) throw new ArgumentException($"expected 68 landmarks from index {first}", nameof(points));
        var p = points.ToArray();
        PointD P(int i) => p[first + i];
        var axis = P(64) - P(60);
        double len = axis.Length;
        if (len <= 0) return p;
        var n = new PointD(-axis.Y / len, axis.X / len);                     // normal to the mouth line
        var down = P(57) - P(51);                                             // lower lip minus upper lip
        if (n.X * down.X + n.Y * down.Y < 0) n = -1 * n;
        foreach (var (u, l) in new[] { (61, 67), (62, 66), (63, 65) })
        {
            var d = P(l) - P(u);
            double gap = d.X * n.X + d.Y * n.Y;
            if (gap >= minGap) continue;
            double half = (minGap - gap) / 2;
            p[first + u] = P(u) - half * n;
            p[first + l] = P(l) + half * n;
        }
        return p;
    }
}
