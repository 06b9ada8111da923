// Triangulation: the Delaunay triangulation of a point set, as index triples into that set,
// optionally forced to contain given edges (a constrained triangulation).
// Requires: at least 3 finite points, not all collinear. Points closer than 1e-3 px to an earlier
// point are treated as that point (the later index appears in no triangle).
// Guarantees: every triangle has positive signed area in image coordinates,
// (b - a) x (c - a) > MinArea (x right, y down), and the triangles tile the convex hull of the
// points without overlap. Computed with OpenCV's Subdiv2D (float precision), vertices mapped
// back to the caller's indices. Each constraint edge is then inserted by flipping the edges
// that cross it (Sloan 1993), never flipping an edge already constrained; a constraint that
// cannot be inserted (it crosses another constraint, passes through a point, or names a
// merged or unknown point) is skipped and counted in `missing`. Triangles off the constraints
// stay Delaunay only where no flip touched them.
using OpenCvSharp;
using Vivify.Geometry;

namespace Vivify.Warping;

public readonly record struct Triangle(int A, int B, int C);

internal static class Triangulation
{
    internal const double MinArea = 1e-6;

    public static double SignedArea2(PointD a, PointD b, PointD c)
        => (b.X - a.X) * (c.Y - a.Y) - (b.Y - a.Y) * (c.X - a.X);

    /// <summary>
    /// Barycentric weights of p in triangle (a, b, c): true when p lies inside or on it (within
    /// 1e-9), false for outside or a degenerate triangle.
    /// </summary>
    public static bool Barycentric(PointD a, PointD b, PointD c, PointD p, out double la, out double lb, out double lc)
    {
        double area = SignedArea2(a, b, c);
        if (Math.Abs(area) < 1e-9) { la = lb = lc = double.NaN; return false; }
        la = SignedArea2(p, b, c) / area; lb = SignedArea2(a, p, c) / area; lc = 1 - la - lb;
        return la >= -1e-9 && lb >= -1e-9 && lc >= -1e-9;
    }

    public static Triangle[] Delaunay(ReadOnlySpan<PointD> points) => Delaunay(points, [], out _);

    /// <summary>With `skip`, points flagged true take no part (they appear in no triangle).</summary>
    public static Triangle[] Delaunay(ReadOnlySpan<PointD> points, ReadOnlySpan<(int A, int B)> constraints, out int missing,
        ReadOnlySpan<bool> skip = default)
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
            if (skip.Length > i && skip[i]) continue;
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
        missing = 0;
        if (constraints.Length > 0)
        {
            var fixedEdges = new HashSet<(int, int)>();
            var pts = points.ToArray();
            foreach (var (a, b) in constraints)
            {
                if (a == b || (uint)a >= (uint)pts.Length || (uint)b >= (uint)pts.Length || !InsertEdge(result, pts, a, b, fixedEdges)) missing++;
                else fixedEdges.Add(Key(a, b));
            }
        }
        return result.ToArray();
    }

    private static (int, int) Key(int a, int b) => a < b ? (a, b) : (b, a);

    private static bool HasEdge(List<Triangle> tris, int a, int b)
    {
        foreach (var (p, q, r) in tris)
            if ((p == a || q == a || r == a) && (p == b || q == b || r == b)) return true;
        return false;
    }

    /// <summary>True when segments (a, b) and (c, d) cross at a point interior to both.</summary>
    private static bool Crosses(PointD a, PointD b, PointD c, PointD d)
    {
        double o1 = SignedArea2(a, b, c), o2 = SignedArea2(a, b, d), o3 = SignedArea2(c, d, a), o4 = SignedArea2(c, d, b);
        return ((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0));
    }

    /// <summary>Makes (a, b) an edge by flipping the edges crossing it; false when it cannot.</summary>
    private static bool InsertEdge(List<Triangle> tris, PointD[] p, int a, int b, HashSet<(int, int)> fixedEdges)
    {
        if (!tris.Any(t => t.A == a || t.B == a || t.C == a) || !tris.Any(t => t.A == b || t.B == b || t.C == b)) return false;
        for (int guard = 0; guard < 4 * tris.Count; guard++)
        {
            if (HasEdge(tris, a, b)) return true;
            // edges crossing (a, b), each with its two triangles
            var owner = new Dictionary<(int, int), List<int>>();
            for (int t = 0; t < tris.Count; t++)
            {
                var (x, y, z) = tris[t];
                foreach (var (u, v) in new[] { (x, y), (y, z), (z, x) })
                {
                    if (u == a || u == b || v == a || v == b || !Crosses(p[a], p[b], p[u], p[v])) continue;
                    var k = Key(u, v);
                    if (!owner.TryGetValue(k, out var l)) owner[k] = l = new List<int>(2);
                    l.Add(t);
                }
            }
            if (owner.Count == 0) return false;    // a point lies on the segment
            bool flipped = false;
            foreach (var (edge, ts) in owner)
            {
                if (ts.Count != 2 || fixedEdges.Contains(edge)) continue;
                var (c, d) = edge;
                int e = Opposite(tris[ts[0]], c, d), f = Opposite(tris[ts[1]], c, d);
                // the quad c-e-d-f must be strictly convex for the flip to give two valid triangles
                if (!Crosses(p[c], p[d], p[e], p[f])) continue;
                var t1 = Oriented(p, c, e, f); var t2 = Oriented(p, d, e, f);
                if (Math.Abs(SignedArea2(p[t1.A], p[t1.B], p[t1.C])) <= 2 * MinArea || Math.Abs(SignedArea2(p[t2.A], p[t2.B], p[t2.C])) <= 2 * MinArea) continue;
                tris[ts[0]] = t1; tris[ts[1]] = t2;
                flipped = true;
                break;
            }
            if (!flipped) return false;            // only constrained or non-convex crossings left
        }
        return HasEdge(tris, a, b);
    }

    private static int Opposite(Triangle t, int c, int d) => t.A != c && t.A != d ? t.A : t.B != c && t.B != d ? t.B : t.C;

    private static Triangle Oriented(PointD[] p, int a, int b, int c)
        => SignedArea2(p[a], p[b], p[c]) > 0 ? new Triangle(a, b, c) : new Triangle(a, c, b);
}
