// Triangulation: the Delaunay triangulation of a point set, as index triples into that set.
// Requires: at least 3 finite points, not all collinear. Points closer than 1e-3 px to an earlier
// point are treated as that point (the later index appears in no triangle).
// Guarantees: every triangle has positive signed area in image coordinates,
// (b - a) x (c - a) > MinArea (x right, y down), and the triangles tile the convex hull of the
// points without overlap. Computed with OpenCV's Subdiv2D (float precision), vertices mapped
// back to the caller's indices.
using OpenCvSharp;
using Vivify.Geometry;

namespace Vivify.Warping;

public readonly record struct Triangle(int A, int B, int C);

internal static class Triangulation
{
    internal const double MinArea = 1e-6;

    public static double SignedArea2(PointD a, PointD b, PointD c)
        => (b.X - a.X) * (c.Y - a.Y) - (b.Y - a.Y) * (c.X - a.X);

    public static Triangle[] Delaunay(ReadOnlySpan<PointD> points)
    {
        if (points.Length < 3) throw new ArgumentException("need at least 3 points to triangulate", nameof(points));
        double minX = double.MaxValue, minY = double.MaxValue, maxX = double.MinValue, maxY = double.MinValue;
        foreach (var p in points)
        {
            if (!double.IsFinite(p.X) || !double.IsFinite(p.Y)) throw new ArgumentException($"non-finite point {p}", nameof(points));
            minX = Math.Min(minX, p.X); minY = Math.Min(minY, p.Y); maxX = Math.Max(maxX, p.X); maxY = Math.Max(maxY, p.Y);
        }
        var rect = new Rect((int)Math.Floor(minX) - 2, (int)Math.Floor(minY) - 2,
            (int)Math.Ceiling(maxX - minX) + 5, (int)Math.Ceiling(maxY - minY) + 5);

        // Subdiv2D hands triangles back as float coordinates: map them to indices by the float
        // pair we inserted (the first index wins for duplicates).
        var index = new Dictionary<(float, float), int>();
        using var subdiv = new Subdiv2D(rect);
        for (int i = 0; i < points.Length; i++)
        {
            var key = ((float)points[i].X, (float)points[i].Y);
            bool near = false;
            foreach (var (k, _) in index)
                if (Math.Abs(k.Item1 - key.Item1) < 1e-3 && Math.Abs(k.Item2 - key.Item2) < 1e-3) { near = true; break; }
            if (near) continue;
            index[key] = i;
            subdiv.Insert(new Point2f(key.Item1, key.Item2));
        }

        var result = new List<Triangle>();
        foreach (var t in subdiv.GetTriangleList())
        {
            if (!index.TryGetValue((t.Item0, t.Item1), out int a)) continue;   // touches a virtual outer vertex
            if (!index.TryGetValue((t.Item2, t.Item3), out int b)) continue;
            if (!index.TryGetValue((t.Item4, t.Item5), out int c)) continue;
            double area2 = SignedArea2(points[a], points[b], points[c]);
            if (Math.Abs(area2) <= 2 * MinArea) continue;                        // sliver from collinear points
            result.Add(area2 > 0 ? new Triangle(a, b, c) : new Triangle(a, c, b));
        }
        if (result.Count == 0) throw new ArgumentException("the points are collinear: no triangle", nameof(points));
        return result.ToArray();
    }
}
