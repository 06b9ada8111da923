// Untangler: removes fold-overs caused by untrusted correspondences before the warp is built.
// A destination triangle "folds" when it is flipped, degenerate, or crushed: the affine map from
// its reference to its destination shrinks some direction below MinStretch (smallest singular
// value; a 4x squeeze tears the image visibly even without flipping). Each movable vertex of a folded triangle is
// reset to the position that restores its reference shape relative to its neighbours
// (Laplacian coordinates: p_i = mean_j p_j + (r_i - mean_j r_j)), Gauss-Seidel, repeated until
// nothing folds or the iteration limit is reached.
// Requires: the reference triangulation and a pinned flag per point: facial points (trusted)
// and points on the image border (which must stay fixed) are pinned, the rest movable.
// Guarantees: pinned points are returned unchanged; movable points are changed only when they
// belong to a folded triangle; the output is finite when the input is; never throws on
// geometry. Folds among pinned points only are left to the rasteriser's fold-over policy.
using Vivify.Geometry;

namespace Vivify.Warping;

internal sealed class Untangler
{
    public const double MinStretch = 0.25;
    private readonly Triangle[] _tris;
    private readonly PointD[] _ref;
    private readonly bool[] _pinned;
    private readonly int[][] _neighbours;
    private readonly PointD[] _refOffset;   // r_i - mean of its neighbours' reference positions
    private readonly double[] _refInv;      // per triangle, inverse of its reference edge matrix
    private readonly PointD[] _cur;
    private readonly bool[] _mark, _moved;

    public Untangler(Triangle[] triangles, PointD[] reference, bool[] pinned, int maxIterations)
    {
        _tris = triangles; _ref = reference; _pinned = pinned; MaxIterations = maxIterations;
        var sets = reference.Select(_ => new HashSet<int>()).ToArray();
        foreach (var (a, b, c) in triangles)
        {
            sets[a].Add(b); sets[a].Add(c); sets[b].Add(a); sets[b].Add(c); sets[c].Add(a); sets[c].Add(b);
        }
        _neighbours = sets.Select(s => s.Order().ToArray()).ToArray();
        _refOffset = new PointD[reference.Length];
        for (int i = 0; i < reference.Length; i++)
            if (_neighbours[i].Length > 0) _refOffset[i] = reference[i] - Mean(reference, _neighbours[i]);
        _refInv = new double[4 * triangles.Length];
        for (int t = 0; t < triangles.Length; t++)
        {
            var (a, b, c) = triangles[t];
            double f1x = reference[b].X - reference[a].X, f1y = reference[b].Y - reference[a].Y;
            double f2x = reference[c].X - reference[a].X, f2y = reference[c].Y - reference[a].Y;
            double det = f1x * f2y - f1y * f2x;    // > 0: triangles are positively oriented
            _refInv[4 * t] = f2y / det; _refInv[4 * t + 1] = -f2x / det; _refInv[4 * t + 2] = -f1y / det; _refInv[4 * t + 3] = f1x / det;
        }
        _cur = new PointD[reference.Length];
        _mark = new bool[reference.Length];
        _moved = new bool[reference.Length];
    }

    public int MaxIterations { get; }

    /// <summary>Number of distinct points moved by the last Apply.</summary>
    public int MovedCount { get; private set; }

    private static PointD Mean(ReadOnlySpan<PointD> p, int[] idx)
    {
        double x = 0, y = 0;
        foreach (int j in idx) { x += p[j].X; y += p[j].Y; }
        return new PointD(x / idx.Length, y / idx.Length);
    }

    /// <summary>Flipped, or the reference-to-current map's smallest singular value is below MinStretch.</summary>
    private bool Crushed(int t, PointD a, PointD b, PointD c)
    {
        double e1x = b.X - a.X, e1y = b.Y - a.Y, e2x = c.X - a.X, e2y = c.Y - a.Y;
        var r = _refInv.AsSpan(4 * t, 4);
        // A = E F^-1 (2x2)
        double a00 = e1x * r[0] + e2x * r[2], a01 = e1x * r[1] + e2x * r[3];
        double a10 = e1y * r[0] + e2y * r[2], a11 = e1y * r[1] + e2y * r[3];
        double det = a00 * a11 - a01 * a10;
        if (det <= 0) return true;
        // singular values: s1 s2 = det, s1^2 + s2^2 = |A|_F^2
        double f2 = a00 * a00 + a01 * a01 + a10 * a10 + a11 * a11;
        double disc = Math.Sqrt(Math.Max(0, f2 * f2 - 4 * det * det));
        double sMin2 = (f2 - disc) / 2;
        return sMin2 < MinStretch * MinStretch;
    }

    private bool Mark(int v)
    {
        if (_pinned[v]) return false;
        _mark[v] = true;
        return true;
    }

    /// <summary>The untangled positions (a buffer reused by the next call).</summary>
    public PointD[] Apply(ReadOnlySpan<PointD> current)
    {
        current.CopyTo(_cur);
        MovedCount = 0;
        if (MaxIterations <= 0) return _cur;
        var moved = _moved;
        Array.Clear(moved);
        for (int it = 0; it < MaxIterations; it++)
        {
            Array.Clear(_mark);
            bool any = false;
            for (int t = 0; t < _tris.Length; t++)
            {
                var (a, b, c) = _tris[t];
                if (!Crushed(t, _cur[a], _cur[b], _cur[c])) continue;
                any |= Mark(a) | Mark(b) | Mark(c);
            }
            if (!any) break;
            for (int i = 0; i < _cur.Length; i++)
            {
                if (!_mark[i]) continue;
                _cur[i] = Mean(_cur, _neighbours[i]) + _refOffset[i];
                if (!moved[i]) { moved[i] = true; MovedCount++; }
            }
        }
        return _cur;
    }
}
