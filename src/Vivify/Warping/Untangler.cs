// Untangler: removes fold-overs caused by untrusted correspondences before the warp is built.
// A destination triangle "folds" when its signed area drops below MinAreaRatio times its
// reference area (flipped, degenerate or crushed). Each movable vertex of a folded triangle is
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
    public const double MinAreaRatio = 0.02;
    private readonly Triangle[] _tris;
    private readonly PointD[] _ref;
    private readonly bool[] _pinned;
    private readonly int[][] _neighbours;
    private readonly PointD[] _refOffset;   // r_i - mean of its neighbours' reference positions
    private readonly double[] _refArea2;
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
        _refArea2 = triangles.Select(t => Triangulation.SignedArea2(reference[t.A], reference[t.B], reference[t.C])).ToArray();
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
                if (Triangulation.SignedArea2(_cur[a], _cur[b], _cur[c]) >= MinAreaRatio * _refArea2[t]) continue;
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
