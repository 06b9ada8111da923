// TriangleRaster: the backward piecewise-affine map of one frame. The reference triangulation's
// triangles, with their vertices moved to the current (destination) positions, are rasterised on
// a sample grid; each sample inside a destination triangle gets, through its barycentric
// coordinates, the matching position in the reference triangle (its source in the portrait).
// Requires: Setup(current) with one finite point per reference point before rasterising.
// Guarantees (the fold-over policy, shared by the optimised and the reference path):
//  - a destination triangle with signed area > MinArea (same orientation as in the reference) is
//    "kept"; one with area < -MinArea is "flipped"; the rest are "degenerate" and ignored;
//  - a sample covered by kept triangles takes the highest-index one (edges inclusive, 1e-6 px);
//  - otherwise a sample covered by flipped triangles takes the highest-index flipped one;
//  - otherwise it stays NaN, for HoleFill (linear along the row in displacement, constant past
//    the row's ends; a row with no sample at all becomes the identity).
// Sources are convex combinations of reference vertices, so they lie in the reference hull.
using Vivify.Geometry;

namespace Vivify.Warping;

/// <summary>Sample (i, j) of a grid lies at full-resolution position (i * Sx, j * Sy).</summary>
internal readonly record struct SampleGrid(int Width, int Height, double Sx, double Sy)
{
    public static SampleGrid Full(int width, int height) => new(width, height, 1, 1);

    /// <summary>A grid about 1/scale of the image that keeps samples exactly on all four borders.</summary>
    public static SampleGrid Coarse(int width, int height, int scale)
    {
        if (scale <= 1) return Full(width, height);
        int gw = Math.Max(2, (int)Math.Ceiling((width - 1) / (double)scale) + 1);
        int gh = Math.Max(2, (int)Math.Ceiling((height - 1) / (double)scale) + 1);
        return new(gw, gh, Math.Max(width - 1, 1) / (double)(gw - 1), Math.Max(height - 1, 1) / (double)(gh - 1));
    }
}

internal sealed class TriangleRaster
{
    private const double EdgeTolerance = 1e-6;
    private readonly Triangle[] _tris;
    private readonly PointD[] _ref;
    // Per triangle: destination vertices with positive orientation (for spans), three edges
    // (origin, direction), the affine map destination -> reference, and the row range.
    private readonly double[] _edge;     // 12 per triangle: p0x p0y ux uy for 3 edges
    private readonly double[] _affine;   // 6 per triangle: m00 m01 tx m10 m11 ty
    private readonly double[] _yRange;   // 2 per triangle
    private readonly double[] _xRange;   // 2 per triangle
    private readonly PointD[] _cur;
    private readonly int[] _kept, _flipped;
    private readonly bool[] _facial;     // per triangle: all three vertices facial (its sources lie in the face hull)

    public int KeptCount { get; private set; }
    public int FlippedCount { get; private set; }
    public int DegenerateCount => _tris.Length - KeptCount - FlippedCount;

    /// <param name="isFacial">Per reference point, whether it is facial (optional): RasterizeRows can then mark the
    /// samples written by a triangle of three facial points, whose sources lie in the face hull.</param>
    public TriangleRaster(Triangle[] triangles, PointD[] reference, ReadOnlySpan<bool> isFacial = default)
    {
        _tris = triangles; _ref = reference;
        _facial = new bool[triangles.Length];
        if (!isFacial.IsEmpty)
            for (int t = 0; t < triangles.Length; t++)
                _facial[t] = isFacial[triangles[t].A] && isFacial[triangles[t].B] && isFacial[triangles[t].C];
        _edge = new double[12 * triangles.Length];
        _affine = new double[6 * triangles.Length];
        _yRange = new double[2 * triangles.Length];
        _xRange = new double[2 * triangles.Length];
        _cur = new PointD[reference.Length];
        _kept = new int[triangles.Length];
        _flipped = new int[triangles.Length];
    }

    public void Setup(ReadOnlySpan<PointD> current)
    {
        if (current.Length != _ref.Length)
            throw new ArgumentException($"expected {_ref.Length} current points, got {current.Length}", nameof(current));
        for (int i = 0; i < current.Length; i++)
        {
            var p = current[i];
            if (!double.IsFinite(p.X) || !double.IsFinite(p.Y)) throw new ArgumentException($"current point {i} is not finite: {p}", nameof(current));
            _cur[i] = p;
        }
        int kept = 0, flipped = 0;
        for (int t = 0; t < _tris.Length; t++)
        {
            var (ia, ib, ic) = _tris[t];
            PointD a = _cur[ia], b = _cur[ib], c = _cur[ic];
            double area2 = Triangulation.SignedArea2(a, b, c);
            if (area2 > 2 * Triangulation.MinArea) _kept[kept++] = t;
            else if (area2 < -2 * Triangulation.MinArea) _flipped[flipped++] = t;
            else continue;

            // Affine map: src = ra + F E^-1 (p - a), E = [b-a c-a] (destination), F = [rb-ra rc-ra].
            PointD ra = _ref[ia], rb = _ref[ib], rc = _ref[ic];
            double e1x = b.X - a.X, e1y = b.Y - a.Y, e2x = c.X - a.X, e2y = c.Y - a.Y;
            double f1x = rb.X - ra.X, f1y = rb.Y - ra.Y, f2x = rc.X - ra.X, f2y = rc.Y - ra.Y;
            double inv = 1.0 / area2;
            double i00 = e2y * inv, i01 = -e2x * inv, i10 = -e1y * inv, i11 = e1x * inv;
            double m00 = f1x * i00 + f2x * i10, m01 = f1x * i01 + f2x * i11;
            double m10 = f1y * i00 + f2y * i10, m11 = f1y * i01 + f2y * i11;
            var af = _affine.AsSpan(6 * t, 6);
            af[0] = m00; af[1] = m01; af[2] = ra.X - m00 * a.X - m01 * a.Y;
            af[3] = m10; af[4] = m11; af[5] = ra.Y - m10 * a.X - m11 * a.Y;

            if (area2 < 0) (b, c) = (c, b);
            var e = _edge.AsSpan(12 * t, 12);
            SetEdge(e[..4], a, b); SetEdge(e.Slice(4, 4), b, c); SetEdge(e.Slice(8, 4), c, a);
            _yRange[2 * t] = Math.Min(a.Y, Math.Min(b.Y, c.Y));
            _yRange[2 * t + 1] = Math.Max(a.Y, Math.Max(b.Y, c.Y));
            _xRange[2 * t] = Math.Min(a.X, Math.Min(b.X, c.X));
            _xRange[2 * t + 1] = Math.Max(a.X, Math.Max(b.X, c.X));
        }
        KeptCount = kept; FlippedCount = flipped;
    }

    private static void SetEdge(Span<double> e, PointD p0, PointD p1)
    {
        e[0] = p0.X; e[1] = p0.Y; e[2] = p1.X - p0.X; e[3] = p1.Y - p0.Y;
    }

    /// <summary>x-interval of row y inside triangle t (inclusive edges); false when empty.</summary>
    private bool Span(int t, double y, out double lo, out double hi)
    {
        lo = double.NegativeInfinity; hi = double.PositiveInfinity;
        var e = _edge.AsSpan(12 * t, 12);
        for (int k = 0; k < 12; k += 4)
        {
            // cross(u, p - p0) = ux (y - p0y) - uy (x - p0x) >= 0, i.e. kx * x + m >= 0
            double ux = e[k + 2], uy = e[k + 3];
            double kx = -uy, m = ux * (y - e[k + 1]) + uy * e[k];
            if (kx > 1e-12) lo = Math.Max(lo, -m / kx);
            else if (kx < -1e-12) hi = Math.Min(hi, -m / kx);
            else if (m < -EdgeTolerance * Math.Abs(ux)) return false;
        }
        return lo <= hi + 2 * EdgeTolerance;
    }

    /// <summary>
    /// Rasterises grid rows [j0, j1) into the row-major source buffers (row stride grid.Width),
    /// which the caller has filled with NaN there. With spans, row j is only written in
    /// [spanLo[j], spanHi[j]] (empty when spanHi &lt; spanLo). With <paramref name="inFace"/> (same
    /// layout, zeroed by the caller where NaN was filled), each written sample gets 1 where the
    /// triangle that wrote it has three facial vertices (its source then lies in the face hull), else 0.
    /// </summary>
    public unsafe void RasterizeRows(SampleGrid g, int j0, int j1, float* srcX, float* srcY,
        int[]? spanLo = null, int[]? spanHi = null, byte* inFace = null)
    {
        double yLo = j0 * g.Sy - EdgeTolerance, yHi = (j1 - 1) * g.Sy + EdgeTolerance;
        for (int pass = 0; pass < 2; pass++)
        {
            int n = pass == 0 ? KeptCount : FlippedCount;
            for (int q = 0; q < n; q++)
            {
                // kept: ascending, last writer wins; flipped: descending, first writer into NaN wins
                int t = pass == 0 ? _kept[q] : _flipped[n - 1 - q];
                double ty0 = _yRange[2 * t], ty1 = _yRange[2 * t + 1];
                if (ty1 < yLo || ty0 > yHi) continue;
                int ja = Math.Max(j0, (int)Math.Ceiling((ty0 - EdgeTolerance) / g.Sy));
                int jb = Math.Min(j1 - 1, (int)Math.Floor((ty1 + EdgeTolerance) / g.Sy));
                var af = _affine.AsSpan(6 * t, 6);
                double m00 = af[0], m01 = af[1], tx = af[2], m10 = af[3], m11 = af[4], ty = af[5];
                for (int j = ja; j <= jb; j++)
                {
                    double y = j * g.Sy;
                    if (!Span(t, y, out double lo, out double hi)) continue;
                    int ia = Math.Max(0, (int)Math.Ceiling(Math.Max(lo - EdgeTolerance, -1) / g.Sx));
                    int ib = Math.Min(g.Width - 1, (int)Math.Floor(Math.Min(hi + EdgeTolerance, g.Width * g.Sx) / g.Sx));
                    if (spanLo is not null) { ia = Math.Max(ia, spanLo[j]); ib = Math.Min(ib, spanHi![j]); }
                    if (ia > ib) continue;
                    double cx = m01 * y + tx, cy = m11 * y + ty, dx = m00 * g.Sx, dy = m10 * g.Sx;
                    float* rx = srcX + (long)j * g.Width, ry = srcY + (long)j * g.Width;
                    byte* mk = inFace is null ? null : inFace + (long)j * g.Width;
                    byte facial = _facial[t] ? (byte)1 : (byte)0;
                    if (pass == 0)
                    {
                        for (int i = ia; i <= ib; i++) { rx[i] = (float)(cx + dx * i); ry[i] = (float)(cy + dy * i); }
                        if (mk is not null) new Span<byte>(mk + ia, ib - ia + 1).Fill(facial);
                    }
                    else
                        for (int i = ia; i <= ib; i++)
                            if (float.IsNaN(rx[i]))
                            {
                                rx[i] = (float)(cx + dx * i); ry[i] = (float)(cy + dy * i);
                                if (mk is not null) mk[i] = facial;
                            }
                }
            }
        }
    }

    /// <summary>
    /// Reference: the source of point (x, y) by per-point barycentric coordinates, with the same
    /// policy as RasterizeRows; false (NaN) when no triangle covers it.
    /// </summary>
    public bool SourceAt(double x, double y, out double sx, out double sy)
    {
        for (int pass = 0; pass < 2; pass++)
        {
            int n = pass == 0 ? KeptCount : FlippedCount;
            int[] list = pass == 0 ? _kept : _flipped;
            for (int q = n - 1; q >= 0; q--)
            {
                int ti = list[q];
                if (y < _yRange[2 * ti] - 1e-6 || y > _yRange[2 * ti + 1] + 1e-6 ||
                    x < _xRange[2 * ti] - 1e-6 || x > _xRange[2 * ti + 1] + 1e-6) continue;   // bounding box
                var (ia, ib, ic) = _tris[ti];
                PointD a = _cur[ia], b = _cur[ib], c = _cur[ic];
                double area2 = Triangulation.SignedArea2(a, b, c);
                var p = new PointD(x, y);
                double la = Triangulation.SignedArea2(p, b, c) / area2;
                double lb = Triangulation.SignedArea2(a, p, c) / area2;
                double lc = 1 - la - lb;
                double tol = 1e-9;
                if (la < -tol || lb < -tol || lc < -tol) continue;
                sx = la * _ref[ia].X + lb * _ref[ib].X + lc * _ref[ic].X;
                sy = la * _ref[ia].Y + lb * _ref[ib].Y + lc * _ref[ic].Y;
                return true;
            }
        }
        sx = sy = double.NaN;
        return false;
    }

    /// <summary>
    /// Fills the NaN samples of grid row j in [i0, i1] (default: the whole row): the displacement
    /// (source - position) is interpolated linearly between the nearest covered samples, held
    /// constant past the range's ends; a range with no covered sample becomes the identity.
    /// Returns the number of samples filled.
    /// </summary>
    public static unsafe int HoleFill(SampleGrid g, int j, float* rowX, float* rowY, int i0 = 0, int i1 = int.MaxValue)
    {
        int w = Math.Min(g.Width - 1, i1) + 1, filled = 0;
        double y = j * g.Sy;
        int prev = i0 - 1;
        for (int i = i0; i <= w; i++)
        {
            if (i < w && float.IsNaN(rowX[i])) continue;
            if (i - prev > 1)
            {
                // samples prev+1 .. i-1 are holes
                bool hasL = prev >= i0, hasR = i < w;
                double dlx = hasL ? rowX[prev] - prev * g.Sx : 0, dly = hasL ? rowY[prev] - y : 0;
                double drx = hasR ? rowX[i] - i * g.Sx : dlx, dry = hasR ? rowY[i] - y : dly;
                if (!hasL) { dlx = drx; dly = dry; }
                for (int k = prev + 1; k < i; k++)
                {
                    double t = hasL && hasR ? (k - prev) / (double)(i - prev) : 0;
                    rowX[k] = (float)(k * g.Sx + dlx + t * (drx - dlx));
                    rowY[k] = (float)(y + dly + t * (dry - dly));
                    filled++;
                }
            }
            prev = i;
        }
        return filled;
    }
}
