// Untangler: removes fold-overs caused by untrusted correspondences before the warp is built.
// A destination triangle "folds" when it is flipped, degenerate, or crushed: the affine map from
// its reference to its destination shrinks some direction below MinStretch (smallest singular
// value; a 4x squeeze tears the image visibly even without flipping). Each movable vertex of a folded triangle is
// moved towards the position that restores its reference shape relative to its neighbours
// (Laplacian coordinates: p_i = mean_j p_j + (r_i - mean_j r_j)), by the smallest of a few steps
// (a quarter, a half, three quarters, all the way) that frees its own triangles (all the way at once next to
// the image border), Gauss-Seidel, repeated until
// nothing folds or the iteration limit is reached. Before that, and at every step of it, a limit on
// straying: each movable point has a clearance, its reference distance to the nearest trusted
// structure (the nearest mesh edge between two pinned points, or the nearest pinned point). Where
// its nearest trusted points put it (the weighted least-squares similarity of its AnchorCount
// nearest pinned points, reference to current, applied to its reference position), it may approach
// that structure by up to half of StrayLimit times its clearance unchanged; beyond that the
// approach is compressed smoothly towards StrayLimit times it (below 1: it never reaches it).
// A group of movable points that strays together (a driver's forehead points sliding down over
// the brows as the head tilts far back) folds the mesh in a way the Laplacian pass cannot undo,
// as each point's neighbours stray with it; the limit keeps each point on its side of its trusted
// structure, and, being a smooth function of the input, it does not pop from frame to frame.
// Requires: the reference triangulation and a pinned flag per point: facial points (trusted)
// and points on the image border (which must stay fixed, and are flagged as such) are pinned, the rest movable.
// Guarantees: pinned points are returned unchanged; movable points are changed only when they
// approach their trusted structure beyond half their limit or belong to a folded triangle; the
// output is finite when the input is; never throws on geometry. Folds among pinned points only are left to the rasteriser's fold-over policy.
using Vivify.Geometry;

namespace Vivify.Warping;

internal sealed class Untangler
{
    public const double MinStretch = 0.25;
    private readonly Triangle[] _tris;
    private readonly PointD[] _ref;
    private readonly bool[] _pinned;
    private readonly int[][] _neighbours;
    private readonly int[][] _incident;     // per point, the triangles it is a corner of
    private readonly bool[] _stepped;       // per point: moves by Steps (false: next to the image border, all the way)
    private readonly PointD[] _refOffset;   // r_i - mean of its neighbours' reference positions
    private readonly double[] _refInv;      // per triangle, inverse of its reference edge matrix
    private readonly PointD[] _cur;
    private readonly bool[] _mark, _moved;

    public Untangler(Triangle[] triangles, PointD[] reference, bool[] pinned, int maxIterations, double strayLimit = 0, bool[]? imageBorder = null)
    {
        var border = imageBorder ?? new bool[reference.Length];
        _tris = triangles; _ref = reference; _pinned = pinned; MaxIterations = maxIterations; StrayLimit = strayLimit;
        var sets = reference.Select(_ => new HashSet<int>()).ToArray();
        foreach (var (a, b, c) in triangles)
        {
            sets[a].Add(b); sets[a].Add(c); sets[b].Add(a); sets[b].Add(c); sets[c].Add(a); sets[c].Add(b);
        }
        _neighbours = sets.Select(s => s.Order().ToArray()).ToArray();
        var incident = reference.Select(_ => new List<int>()).ToArray();
        for (int t = 0; t < triangles.Length; t++) { incident[triangles[t].A].Add(t); incident[triangles[t].B].Add(t); incident[triangles[t].C].Add(t); }
        _incident = incident.Select(l => l.ToArray()).ToArray();
        _stepped = _neighbours.Select(n => !n.Any(j => border[j])).ToArray();
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
        // for each movable point, its nearest pinned points (reference positions) and their weights
        var pinnedIdx = Enumerable.Range(0, reference.Length).Where(i => pinned[i]).ToArray();
        _anchors = new int[reference.Length][];
        _anchorWeights = new double[reference.Length][];
        _clearance = new double[reference.Length];
        _away = new PointD[reference.Length];
        var pinnedEdges = triangles.SelectMany(t => new[] { (t.A, t.B), (t.B, t.C), (t.C, t.A) }).Where(e => pinned[e.Item1] && pinned[e.Item2]).Distinct().ToArray();
        for (int i = 0; i < reference.Length; i++)
        {
            if (pinned[i] || pinnedIdx.Length < 3) { _anchors[i] = []; _anchorWeights[i] = []; continue; }
            var near = pinnedIdx.OrderBy(j => PointD.Distance(reference[i], reference[j])).Take(AnchorCount).ToArray();
            double scale = Math.Max(1, PointD.Distance(reference[i], reference[near[0]]));
            _anchors[i] = near;
            // the nearest trusted structure: the nearest mesh edge between two pinned points (or the nearest pinned point)
            var nearest = reference[near[0]];
            foreach (var (a, b) in pinnedEdges)
            {
                var q = Closest(reference[i], reference[a], reference[b]);
                if (PointD.Distance(reference[i], q) < PointD.Distance(reference[i], nearest)) nearest = q;
            }
            _clearance[i] = PointD.Distance(reference[i], nearest);
            _away[i] = _clearance[i] > 0 ? (1 / _clearance[i]) * (reference[i] - nearest) : new PointD(0, 0);
            _anchorWeights[i] = [.. near.Select(j => { double d = PointD.Distance(reference[i], reference[j]) / scale; return 1 / (1e-3 + d * d); })];
        }
    }

    /// <summary>How many of the nearest pinned points say where a movable point belongs (see the header).</summary>
    public const int AnchorCount = 6;
    private readonly int[][] _anchors;
    private readonly double[] _clearance;   // reference distance to the nearest trusted structure (see the header)
    private readonly PointD[] _away;        // unit direction from that structure to the point (reference)
    private readonly double[][] _anchorWeights;

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

    /// <summary>How far a folded triangle's point moves towards its Laplacian position: the first of these shares
    /// that leaves none of its own triangles folded. All the way at once, the first points freed pushed their
    /// neighbours into folds, and points beside the image border took the border's standstill into their neighbours'
    /// mean: SeanConnery driven by cap13_edit2.mp4 leaning back (25.8 s) had his crown drawn up into a peak 33 px
    /// above where the driver's points put it, and cage a hard, straight step across his forehead. A point next to the
    /// image border still goes all the way: held part way, it stays crushed against the border and what lies between
    /// stretches (a tight crop, obama4_crop, under the same lean: 19.6 % of the frame magnified over 2x, against 15.6 %).</summary>
    private static readonly double[] Steps = [0.25, 0.5, 0.75, 1], WholeStep = [1];

    private bool AnyCrushed(int i)
    {
        foreach (int t in _incident[i])
        {
            var (a, b, c) = _tris[t];
            if (Crushed(t, _cur[a], _cur[b], _cur[c])) return true;
        }
        return false;
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
        Array.Clear(_moved);
        if (StrayLimit > 0)
            for (int i = 0; i < _cur.Length; i++)
                if (Limited(i, _cur[i], out var held)) _cur[i] = held;
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
                // the Laplacian position, held within the stray limit (neighbours that strayed together would pull it across);
                // the point goes only as far towards it as frees its own triangles (see Steps)
                Limited(i, Mean(_cur, _neighbours[i]) + _refOffset[i], out var target);
                var from = _cur[i];
                foreach (double step in _stepped[i] ? Steps : WholeStep)
                {
                    _cur[i] = from + step * (target - from);
                    if (step == 1 || !AnyCrushed(i)) break;
                }
                if (!_moved[i]) { _moved[i] = true; MovedCount++; }
            }
        }
        return _cur;
    }

    /// <summary>How close a movable point may come to its nearest trusted structure (see the header), as a share of its
    /// clearance; 0: no limit.</summary>
    public double StrayLimit { get; }

    /// <summary>Point i at <paramref name="at"/>, held within its stray limit; false if it is within half of it (unchanged).</summary>
    private bool Limited(int i, PointD at, out PointD held)
    {
        held = at;
        if (StrayLimit <= 0 || _anchors[i].Length == 0) return false;
        var attached = Attached(i);
        var dev = at - attached;
        // only the approach towards the nearest trusted structure is limited; sliding along it or away is free
        double x = -(dev.X * _away[i].X + dev.Y * _away[i].Y);
        double r = StrayLimit * _clearance[i], k = 0.5 * r;
        if (x <= k || r <= 0) return false;
        // unchanged up to half the limit, then compressed smoothly (C1) towards the limit
        double y = k + (r - k) * Math.Tanh((x - k) / (r - k));
        held = at + (x - y) * _away[i];
        return true;
    }

    /// <summary>Point i's reference position under the weighted least-squares similarity (reference to current) of its
    /// nearest pinned points: well posed even where those lie nearly on a line (a stretch of the jaw, the image border).</summary>
    private PointD Attached(int i) => Similarity.Fit(_ref, _cur, _anchors[i], _anchorWeights[i]).Apply(_ref[i]);

    private static PointD Closest(PointD p, PointD a, PointD b)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y, l2 = dx * dx + dy * dy;
        double t = l2 > 0 ? Math.Clamp(((p.X - a.X) * dx + (p.Y - a.Y) * dy) / l2, 0, 1) : 0;
        return new PointD(a.X + t * dx, a.Y + t * dy);
    }
}
