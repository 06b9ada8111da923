// ConfidenceAwareWarp: the dense backward warp of a portrait from moved correspondences
// (TECHNIQUE.md section 4). Construction precomputes what does not change per frame: the
// triangulation of the reference (frame-0) points, the face region (convex hull of the facial
// points) and its signed distance map, the blur levels and all buffers. Per frame,
// BuildMap(current) fills MapX/MapY (for each output pixel, its source position in the
// portrait) and Apply() resamples the portrait through them (bilinear, BORDER_REPLICATE).
//
// The map: first, untrusted points that stray far from their trusted neighbours are held back
// and fold-overs they cause are undone by moving them (Untangler; facial and border points
// never move). Then the exact backward field is piecewise
// affine (TriangleRaster: current triangles, barycentric coordinates, reference triangles; the
// policy for folds that remain, among trusted points, is described there). With
// D(x) = source(x) - x and d = signed distance of source(x) from the face hull (measured in the
// portrait, so the region travels with the face), the smoothing radius is
// r = Rmax * smoothstep(d / ramp) and the weight of the smoothed field w = smoothstep(r / Rmin)
// (0 for d <= 0). The map is
//   source'(x) = x + (1 - w) D(x) + w S_r(x),
// S_r being D blurred at radius r (smoothstep blend of the two fixed levels bracketing r). w = 0
// on the face, so the face is exactly piecewise affine; w, r and the blend are C1, so there is
// neither seam nor kink.
//
// Requires: width, height >= 2; reference points finite, at least 3 and not all collinear; one
// facial flag per point; optional constraint edges (index pairs) that the triangulation must
// contain, e.g. the lip and eye contours (Dlib68Mesh), so that opening the mouth stretches the
// mouth interior instead of tearing the lips. For full coverage the caller includes fixed points
// along the image border with the four corners (pixel centres (0,0) .. (W-1,H-1)); then border
// pixels map to themselves (the blur pins the border, see FieldSmoother).
// Guarantees: non-facial points inside the face region are ignored and the face hull's edges are
// constrained, so the face is a union of triangles among facial points: untrusted points never
// change the face. Maps are finite for any finite current points (fold-overs and holes handled).
// BuildMapReference is the straightforward path (per-pixel barycentric search over all
// triangles, full-resolution smoothing, per-pixel level blend). BuildMap is the optimised one:
// the smoothed field is computed on a grid FieldScale times coarser and upsampled bilinearly;
// the exact field is rasterised only in per-row spans where a coarse sample within 2 cells has
// w < 1 (elsewhere w = 1 is taken, which holds unless the frame squeezes the face band into
// less than about 2 cells); there, samples written by triangles of facial points keep their
// exact source without a distance lookup (it lies in the face hull), the rest are blended eight
// at a time where the CPU has AVX2 (bit-identical to the scalar loop, which the tests check); row
// bands run in parallel and all buffers are reused. The tests bound the difference between the
// optimised and the reference path. Not thread-safe: one frame at a time per instance.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using OpenCvSharp;
using Vivify.Geometry;

namespace Vivify.Warping;

/// <summary>
/// What BuildMap met in the last frame: non-facial points moved to undo fold-overs, triangles
/// still flipped or degenerate after that, full-resolution pixels in the exact region that no
/// triangle covered (filled along their row).
/// </summary>
public readonly record struct WarpFrameStats(int UntangledPoints, int FlippedTriangles, int DegenerateTriangles, long FilledPixels);

public sealed class ConfidenceAwareWarp : IDisposable
{
    private const int RowsPerBand = 16;

    private readonly PointD[] _ref;
    private readonly Triangle[] _tris;
    private readonly FaceRegion _face;
    private readonly TriangleRaster _raster;
    private readonly Untangler _untangler;
    private readonly SampleGrid _full, _coarse;
    private readonly double[] _nominalRadii;
    private readonly double _maxRadius, _ramp;
    private readonly float _invRamp, _maxRadiusF, _invMinRadius;
    private readonly float _fullWeightDistance;   // d at and beyond which w = 1

    // optimised-path state, reused across frames
    private readonly FieldSmoother? _smoother;
    private readonly float[] _coarseSrcX, _coarseSrcY, _coarseDX, _coarseDY, _smoothX, _smoothY;
    private readonly int[] _colI0, _rowJ0;
    private readonly float[] _colFx, _rowFy;
    private const int SpanMargin = 2;
    private readonly float[] _coarseWeight, _coarseDist, _hx, _hy;
    private readonly int[] _coarseLo, _coarseHi, _spanLo, _spanHi;
    private readonly IntPtr _mapXData, _mapYData;
    private readonly byte[] _inFace;   // per pixel, last frame: 1 where a triangle of facial points wrote the exact source
    private long _filled;

    public int Width { get; }
    public int Height { get; }
    public int PointCount => _ref.Length;
    public WarpOptions Options { get; }
    public IReadOnlyList<Triangle> Triangles => _tris;
    /// <summary>
    /// Constraint edges (the caller's and the face hull's) that could not be made triangle edges
    /// (crossing ones, bad indices, a point on the edge).
    /// </summary>
    public int MissingConstraintEdges { get; }
    /// <summary>Non-facial points ignored because they lie in the face region (within 0.5 px).</summary>
    public int IgnoredPoints { get; }
    /// <summary>The face region: convex hull of the facial reference points (empty when none).</summary>
    public IReadOnlyList<PointD> FaceHull => _face.Hull;
    /// <summary>Effective radii (full-resolution px) of the optimised path's blur levels.</summary>
    public IReadOnlyList<double> LevelRadiiPx => _smoother?.RadiiPx ?? [];
    /// <summary>Backward map, CV_32FC1, Height x Width: valid after BuildMap; reused every frame.</summary>
    public Mat MapX { get; }
    public Mat MapY { get; }
    public WarpFrameStats LastStats { get; private set; }

    /// <summary>Whether BuildMap finishes the exact spans eight samples at a time (AVX2, where the CPU has it); tests
    /// turn it off to compare with the scalar loop.</summary>
    internal bool VectorisedFinish { get; set; } = Avx2.IsSupported;

    /// <summary>The points the last BuildMap warped by: the current points after the stray limit and untangling.</summary>
    internal IReadOnlyList<PointD> PointsUsed { get; private set; } = [];

    public ConfidenceAwareWarp(int width, int height, ReadOnlySpan<PointD> reference, ReadOnlySpan<bool> isFacial,
        WarpOptions? options = null, ReadOnlySpan<(int A, int B)> constraintEdges = default)
    {
        if (width < 2 || height < 2) throw new ArgumentException($"image too small: {width}x{height}");
        if (isFacial.Length != reference.Length)
            throw new ArgumentException($"{reference.Length} points but {isFacial.Length} facial flags", nameof(isFacial));
        Options = options ?? WarpOptions.Default;
        Options.Validate(width, height);
        Width = width; Height = height;
        _ref = reference.ToArray();
        var facial = new List<PointD>();
        for (int i = 0; i < _ref.Length; i++) if (isFacial[i]) facial.Add(_ref[i]);
        _face = new FaceRegion(width, height, facial);
        // The face hull's edges are constraints too, so the face region is a union of triangles
        // among facial points and no untrusted point reaches into it.
        var index = new Dictionary<PointD, int>();
        for (int i = 0; i < _ref.Length; i++) if (isFacial[i]) index.TryAdd(_ref[i], i);
        var hull = _face.Hull;
        var edges = new List<(int, int)>();
        if (hull.Length >= 3)
            for (int h = 0; h < hull.Length; h++) edges.Add((index[hull[h]], index[hull[(h + 1) % hull.Length]]));
        edges.AddRange(constraintEdges.ToArray());
        // Untrusted points inside the face region (or within half a pixel of it) are ignored.
        var skip = new bool[_ref.Length];
        for (int i = 0; i < _ref.Length; i++)
            if (!isFacial[i] && _face.SignedDistanceAt(_ref[i].X, _ref[i].Y) < 0.5) { skip[i] = true; IgnoredPoints++; }
        _tris = Triangulation.Delaunay(_ref, edges.ToArray(), out int missing, skip);
        MissingConstraintEdges = missing;
        _raster = new TriangleRaster(_tris, _ref, isFacial);
        var pinned = new bool[_ref.Length];
        var border = new bool[_ref.Length];
        for (int i = 0; i < _ref.Length; i++)
        {
            border[i] = _ref[i].X <= 0.5 || _ref[i].Y <= 0.5 || _ref[i].X >= width - 1.5 || _ref[i].Y >= height - 1.5;
            pinned[i] = isFacial[i] || border[i];
        }
        _untangler = new Untangler(_tris, _ref, pinned, Options.UntangleIterations, Options.StrayLimit, border);

        _maxRadius = Options.MaxRadiusPx(width, height);
        _ramp = Options.RampDistancePx(width, height);
        _invRamp = (float)(1 / _ramp); _maxRadiusF = (float)_maxRadius; _invMinRadius = (float)(1 / Options.MinRadiusPx);
        {
            double lo = 0, hi = _ramp;   // smallest d with Radius(d) >= MinRadiusPx
            for (int it = 0; it < 60; it++) { double mid = 0.5 * (lo + hi); if (Radius((float)mid) >= Options.MinRadiusPx) hi = mid; else lo = mid; }
            _fullWeightDistance = (float)hi;
        }
        int k = Options.Levels;
        _nominalRadii = k == 1 ? [_maxRadius]
            : Enumerable.Range(0, k).Select(i => Options.MinRadiusPx * Math.Pow(_maxRadius / Options.MinRadiusPx, i / (double)(k - 1))).ToArray();

        _full = SampleGrid.Full(width, height);
        _coarse = SampleGrid.Coarse(width, height, Options.FieldScale);
        int n = _coarse.Width * _coarse.Height;
        _coarseSrcX = new float[n]; _coarseSrcY = new float[n];
        _coarseDX = new float[n]; _coarseDY = new float[n];
        _smoothX = new float[n]; _smoothY = new float[n];
        _coarseWeight = new float[n];
        _coarseDist = new float[n];
        _hx = new float[_coarse.Height * width]; _hy = new float[_coarse.Height * width];
        for (int j = 0; j < _coarse.Height; j++)
            for (int i = 0; i < _coarse.Width; i++)
                _coarseDist[j * _coarse.Width + i] = (float)_face.SignedDistanceAt(i * _coarse.Sx, j * _coarse.Sy);
        _coarseLo = new int[_coarse.Height]; _coarseHi = new int[_coarse.Height];
        _spanLo = new int[height]; _spanHi = new int[height];
        if (Options.Smoothing) _smoother = new FieldSmoother(_coarse, _nominalRadii);

        // bilinear upsampling tables, coarse grid -> pixels
        _colI0 = new int[width]; _colFx = new float[width];
        for (int x = 0; x < width; x++) Locate(x / _coarse.Sx, _coarse.Width, out _colI0[x], out _colFx[x]);
        _rowJ0 = new int[height]; _rowFy = new float[height];
        for (int y = 0; y < height; y++) Locate(y / _coarse.Sy, _coarse.Height, out _rowJ0[y], out _rowFy[y]);

        _inFace = new byte[width * height];
        MapX = new Mat(height, width, MatType.CV_32FC1);
        MapY = new Mat(height, width, MatType.CV_32FC1);
        _mapXData = MapX.Data; _mapYData = MapY.Data;
    }

    private static void Locate(double u, int n, out int i0, out float f)
    {
        i0 = Math.Clamp((int)Math.Floor(u), 0, n - 2);
        f = (float)Math.Clamp(u - i0, 0, 1);
    }

    private static float SmoothStep(float u) => u <= 0 ? 0 : u >= 1 ? 1 : u * u * (3 - 2 * u);

    /// <summary>Smoothing radius for signed distance d from the face: Rmax smoothstep(d / ramp).</summary>
    private float Radius(float d) => _maxRadiusF * SmoothStep(d * _invRamp);

    /// <summary>Weight of the smoothed field for radius r: smoothstep(r / MinRadiusPx).</summary>
    private float Weight(float r) => SmoothStep(r * _invMinRadius);

    /// <summary>Signed distance (px) of a portrait point from the face region, negative inside.</summary>
    public double DistanceFromFace(double x, double y) => _face.SignedDistanceAt(x, y);

    /// <summary>Smoothing radius (px) wanted at a portrait point: 0 on the face, growing to the cap.</summary>
    public double SmoothingRadiusAt(double x, double y) => Radius((float)DistanceFromFace(x, y));

    /// <summary>Checks the current points, untangles them, sets up the destination triangles.</summary>
    private void Prepare(ReadOnlySpan<PointD> current)
    {
        if (current.Length != _ref.Length)
            throw new ArgumentException($"expected {_ref.Length} current points, got {current.Length}", nameof(current));
        foreach (var p in current)
            if (!double.IsFinite(p.X) || !double.IsFinite(p.Y)) throw new ArgumentException($"current point is not finite: {p}", nameof(current));
        var used = _untangler.Apply(current);
        PointsUsed = used;
        _raster.Setup(used);
    }

    /// <summary>Builds MapX/MapY for the current positions of the reference points (optimised path).</summary>
    public unsafe void BuildMap(ReadOnlySpan<PointD> current)
    {
        if (MapX.Data != _mapXData || MapY.Data != _mapYData || MapX.Width != Width || MapY.Height != Height)
            throw new InvalidOperationException("MapX/MapY were reallocated by the caller; they belong to the warp");
        Prepare(current);
        _filled = 0;
        if (_smoother is not null)
        {
            BuildSmoothedCoarseField();
            ExactSpans();
        }
        else
        {
            Array.Fill(_spanLo, 0); Array.Fill(_spanHi, Width - 1);
        }

        int bands = (Height + RowsPerBand - 1) / RowsPerBand;
        if (_smoother is not null) UpsampleCoarseRows();
        Parallel.For(0, bands, b =>
        {
            int y0 = b * RowsPerBand, y1 = Math.Min(Height, y0 + RowsPerBand);
            float* mx = (float*)_mapXData, my = (float*)_mapYData;
            for (int y = y0; y < y1; y++)
                if (_spanHi[y] >= _spanLo[y])
                {
                    new Span<float>(mx + (long)y * Width + _spanLo[y], _spanHi[y] - _spanLo[y] + 1).Fill(float.NaN);
                    _inFace.AsSpan(y * Width + _spanLo[y], _spanHi[y] - _spanLo[y] + 1).Clear();
                }
            fixed (byte* inFace = _inFace) _raster.RasterizeRows(_full, y0, y1, mx, my, _spanLo, _spanHi, inFace);
            long filled = 0;
            for (int y = y0; y < y1; y++)
            {
                float* rx = mx + (long)y * Width, ry = my + (long)y * Width;
                if (_spanHi[y] >= _spanLo[y]) filled += TriangleRaster.HoleFill(_full, y, rx, ry, _spanLo[y], _spanHi[y]);
                if (_smoother is not null) FinishRow(y, rx, ry);
            }
            if (filled != 0) Interlocked.Add(ref _filled, filled);
        });
        LastStats = new WarpFrameStats(_untangler.MovedCount, _raster.FlippedCount, _raster.DegenerateCount, _filled);
    }

    /// <summary>
    /// Exact field on the coarse grid, blurred at every level, blended per sample by its radius;
    /// also each coarse sample's weight of the smoothed field (for ExactSpans).
    /// </summary>
    private unsafe void BuildSmoothedCoarseField()
    {
        var g = _coarse;
        int w = g.Width, h = g.Height;
        var radii = _smoother!.RadiiPx;
        var dist = _face.SignedDistance;
        fixed (float* sx = _coarseSrcX, sy = _coarseSrcY, dx = _coarseDX, dy = _coarseDY)
        {
            _coarseSrcX.AsSpan().Fill(float.NaN);
            _raster.RasterizeRows(g, 0, h, sx, sy);

            for (int j = 0; j < h; j++)
            {
                TriangleRaster.HoleFill(g, j, sx + j * w, sy + j * w);
                float yj = (float)(j * g.Sy);
                for (int i = 0; i < w; i++)
                {
                    dx[j * w + i] = sx[j * w + i] - (float)(i * g.Sx);
                    dy[j * w + i] = sy[j * w + i] - yj;
                }
            }
            _smoother.Smooth(dx, dy);
        }
        float invSx = (float)(1 / g.Sx), invSy = (float)(1 / g.Sy);
        Parallel.For(0, h, j =>
        {
            for (int i = 0; i < w; i++)
            {
                int idx = j * w + i;
                float d = FaceRegion.Sample(_coarseDist, w, h, _coarseSrcX[idx] * invSx, _coarseSrcY[idx] * invSy);
                float r = Radius(d);
                _coarseWeight[idx] = d >= _fullWeightDistance ? 1 : Weight(r);
                FieldSmoother.Bracket(radii, r, out int lo, out float t);
                float* a = _smoother.LevelRow(lo, j) + 2 * i;
                float vx = a[0], vy = a[1];
                if (t > 0)
                {
                    float* b = _smoother.LevelRow(lo + 1, j) + 2 * i;
                    vx += t * (b[0] - vx); vy += t * (b[1] - vy);
                }
                _smoothX[idx] = vx; _smoothY[idx] = vy;
            }
        });
    }

    /// <summary>
    /// Per pixel row, the x-range that needs the exact field: where any coarse sample within
    /// SpanMargin cells has weight &lt; 1 (the face and the thin blend band around it). Outside it
    /// the exact field's weight is 1 (the margin covers a stretch of the warp by SpanMargin
    /// between samples), so the map is the upsampled smoothed field alone.
    /// </summary>
    private void ExactSpans()
    {
        int gw = _coarse.Width, gh = _coarse.Height, m = SpanMargin;
        for (int j = 0; j < gh; j++)
        {
            int lo = int.MaxValue, hi = -1;
            for (int i = 0; i < gw; i++)
                if (_coarseWeight[j * gw + i] < 1) { lo = Math.Min(lo, i); hi = i; }
            _coarseLo[j] = lo; _coarseHi[j] = hi;
        }
        for (int y = 0; y < Height; y++)
        {
            int j0 = _rowJ0[y], lo = int.MaxValue, hi = -1;
            for (int j = Math.Max(0, j0 - m); j <= Math.Min(gh - 1, j0 + 1 + m); j++)
            {
                lo = Math.Min(lo, _coarseLo[j]); hi = Math.Max(hi, _coarseHi[j]);
            }
            if (hi < 0) { _spanLo[y] = 0; _spanHi[y] = -1; continue; }
            _spanLo[y] = Math.Max(0, (int)Math.Floor((lo - m) * _coarse.Sx));
            _spanHi[y] = Math.Min(Width - 1, (int)Math.Ceiling((hi + m) * _coarse.Sx));
        }
    }

    /// <summary>
    /// Upsamples the smoothed coarse field along x at every coarse row: _hx[j, x] = x + S_x,
    /// _hy[j, x] = S_y (bilinear in x); FinishRow then only interpolates between two such rows.
    /// </summary>
    private unsafe void UpsampleCoarseRows()
    {
        int gw = _coarse.Width, W = Width;
        Parallel.For(0, _coarse.Height, j =>
        {
            fixed (float* sX = _smoothX, sY = _smoothY, hx = _hx, hy = _hy, colF = _colFx)
            fixed (int* colI = _colI0)
            {
                float* ax = sX + j * gw, ay = sY + j * gw, ox = hx + (long)j * W, oy = hy + (long)j * W;
                for (int x = 0; x < W; x++)
                {
                    int i0 = colI[x]; float f = colF[x];
                    ox[x] = x + ax[i0] + f * (ax[i0 + 1] - ax[i0]);
                    oy[x] = ay[i0] + f * (ay[i0 + 1] - ay[i0]);
                }
            }
        });
    }

    /// <summary>
    /// Finishes one full-resolution row: the smoothed field is the vertical interpolation of two
    /// x-upsampled coarse rows. Outside the exact span it is the map; inside, it is blended with
    /// the exact source by the weight at that source. A sample a triangle of facial points wrote
    /// keeps its exact source without looking its distance up: that source lies in the face hull,
    /// where the weight is 0 (the lookup is most of this pass's cost, and most of the span is face).
    /// </summary>
    private unsafe void FinishRow(int y, float* rx, float* ry)
    {
        int W = Width, H = Height, lo = _spanLo[y], hi = _spanHi[y];
        if (hi < lo) { lo = W; hi = W - 1; }
        float fy = _rowFy[y], yf = y;
        fixed (float* hx = _hx, hy = _hy, dist = _face.SignedDistance)
        fixed (byte* inFaceAll = _inFace)
        {
            byte* inFace = inFaceAll + (long)y * W;
            float* ax = hx + (long)_rowJ0[y] * W, bx = ax + W, ay = hy + (long)_rowJ0[y] * W, by = ay + W;
            Lerp(rx, ax, bx, fy, 0f, 0, lo); Lerp(rx, ax, bx, fy, 0f, hi + 1, W);
            Lerp(ry, ay, by, fy, yf, 0, lo); Lerp(ry, ay, by, fy, yf, hi + 1, W);
            float full = _fullWeightDistance, maxX = W - 1, maxY = H - 1;
            int x = lo;
            if (VectorisedFinish) x = FinishSpanAvx2(lo, hi, rx, ry, ax, bx, ay, by, fy, yf, dist, inFace);
            for (; x <= hi; x++)
            {
                if (inFace[x] != 0) continue;
                float px = rx[x], py = ry[x];
                // bilinear signed distance at the source (in the portrait)
                float cx = Math.Clamp(px, 0f, maxX), cy = Math.Clamp(py, 0f, maxY);
                int x0 = Math.Min((int)cx, W - 2), y0 = Math.Min((int)cy, H - 2);
                float fx = cx - x0, fyy = cy - y0;
                float* d0 = dist + (long)y0 * W + x0;
                float top = d0[0] + fx * (d0[1] - d0[0]);
                float bot = d0[W] + fx * (d0[W + 1] - d0[W]);
                float d = top + fyy * (bot - top);
                if (d <= 0) continue;
                float wgt = d >= full ? 1 : Weight(Radius(d));
                float sx = ax[x] + fy * (bx[x] - ax[x]);
                float sy = yf + ay[x] + fy * (by[x] - ay[x]);
                rx[x] = px + wgt * (sx - px);
                ry[x] = py + wgt * (sy - py);
            }
        }
    }

    /// <summary>
    /// FinishRow's span loop eight samples at a time (AVX2: the distance's four corners gathered), the same
    /// operations in the same order as the scalar loop, so the same result to the bit (the tests compare the two);
    /// returns where the scalar loop takes over.
    /// </summary>
    private unsafe int FinishSpanAvx2(int lo, int hi, float* rx, float* ry, float* ax, float* bx, float* ay, float* by,
        float fy, float yf, float* dist, byte* inFace)
    {
        int W = Width, x = lo;
        var zero = Vector256<float>.Zero; var one = Vector256.Create(1f);
        var maxX = Vector256.Create((float)(W - 1)); var maxY = Vector256.Create((float)(Height - 1));
        var maxX0 = Vector256.Create(W - 2); var maxY0 = Vector256.Create(Height - 2); var vw = Vector256.Create(W);
        var vfy = Vector256.Create(fy); var vyf = Vector256.Create(yf); var full = Vector256.Create(_fullWeightDistance);
        var invRamp = Vector256.Create(_invRamp); var maxR = Vector256.Create(_maxRadiusF); var invMinR = Vector256.Create(_invMinRadius);
        var three = Vector256.Create(3f); var two = Vector256.Create(2f);
        for (; x + 8 <= hi + 1; x += 8)
        {
            if (*(ulong*)(inFace + x) == 0x0101010101010101UL) continue;   // all eight in the face: exact
            var px = Avx.LoadVector256(rx + x); var py = Avx.LoadVector256(ry + x);
            var cx = Avx.Min(Avx.Max(px, zero), maxX); var cy = Avx.Min(Avx.Max(py, zero), maxY);
            var x0 = Avx2.Min(Avx.ConvertToVector256Int32WithTruncation(cx), maxX0);
            var y0 = Avx2.Min(Avx.ConvertToVector256Int32WithTruncation(cy), maxY0);
            var fx = Avx.Subtract(cx, Avx.ConvertToVector256Single(x0)); var fyy = Avx.Subtract(cy, Avx.ConvertToVector256Single(y0));
            var idx = Avx2.Add(Avx2.MultiplyLow(y0, vw), x0);
            var d00 = Avx2.GatherVector256(dist, idx, 4); var d01 = Avx2.GatherVector256(dist + 1, idx, 4);
            var d10 = Avx2.GatherVector256(dist + W, idx, 4); var d11 = Avx2.GatherVector256(dist + W + 1, idx, 4);
            var top = Avx.Add(d00, Avx.Multiply(fx, Avx.Subtract(d01, d00)));
            var bot = Avx.Add(d10, Avx.Multiply(fx, Avx.Subtract(d11, d10)));
            var d = Avx.Add(top, Avx.Multiply(fyy, Avx.Subtract(bot, top)));
            // w = d <= 0 (or a facial triangle's sample) ? 0 : d >= full ? 1 : smoothstep(Rmax smoothstep(d / ramp) / Rmin)
            var u = Avx.Min(Avx.Max(Avx.Multiply(d, invRamp), zero), one);
            var r = Avx.Multiply(maxR, Avx.Multiply(Avx.Multiply(u, u), Avx.Subtract(three, Avx.Multiply(two, u))));
            var v = Avx.Min(Avx.Max(Avx.Multiply(r, invMinR), zero), one);
            var w = Avx.Multiply(Avx.Multiply(v, v), Avx.Subtract(three, Avx.Multiply(two, v)));
            w = Avx.BlendVariable(w, one, Avx.CompareGreaterThanOrEqual(d, full));
            var faceMask = Avx2.CompareGreaterThan(Avx2.ConvertToVector256Int32(inFace + x), Vector256<int>.Zero).AsSingle();
            var exact = Avx.Or(Avx.CompareLessThanOrEqual(d, zero), faceMask);
            var pax = Avx.LoadVector256(ax + x); var pay = Avx.LoadVector256(ay + x);
            var sx = Avx.Add(pax, Avx.Multiply(vfy, Avx.Subtract(Avx.LoadVector256(bx + x), pax)));
            var sy = Avx.Add(Avx.Add(vyf, pay), Avx.Multiply(vfy, Avx.Subtract(Avx.LoadVector256(by + x), pay)));
            Avx.Store(rx + x, Avx.BlendVariable(Avx.Add(px, Avx.Multiply(w, Avx.Subtract(sx, px))), px, exact));
            Avx.Store(ry + x, Avx.BlendVariable(Avx.Add(py, Avx.Multiply(w, Avx.Subtract(sy, py))), py, exact));
        }
        return x;
    }

    /// <summary>dst[x] = add + a[x] + t (b[x] - a[x]) for x in [from, to), vectorised.</summary>
    private static unsafe void Lerp(float* dst, float* a, float* b, float t, float add, int from, int to)
    {
        int x = from;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int n = System.Numerics.Vector<float>.Count;
            var vt = new System.Numerics.Vector<float>(t); var va = new System.Numerics.Vector<float>(add);
            for (; x + n <= to; x += n)
            {
                var pa = System.Numerics.Vector.Load(a + x);
                var pb = System.Numerics.Vector.Load(b + x);
                System.Numerics.Vector.Store(va + pa + vt * (pb - pa), dst + x);
            }
        }
        for (; x < to; x++) dst[x] = add + a[x] + t * (b[x] - a[x]);
    }

    /// <summary>Resamples the portrait through the last map: bilinear, BORDER_REPLICATE.</summary>
    public void Apply(Mat portrait, Mat output)
    {
        if (portrait.Width != Width || portrait.Height != Height)
            throw new ArgumentException($"portrait is {portrait.Width}x{portrait.Height}, the warp was built for {Width}x{Height}", nameof(portrait));
        Cv2.Remap(portrait, output, MapX, MapY, Options.Interpolation, BorderTypes.Replicate);
    }

    /// <summary>BuildMap(current) then Apply(portrait, output).</summary>
    public void Warp(ReadOnlySpan<PointD> current, Mat portrait, Mat output)
    {
        BuildMap(current);
        Apply(portrait, output);
    }

    /// <summary>
    /// Reference path: per-pixel barycentric search over all triangles at full resolution, hole
    /// filling, smoothing at full resolution with per-pixel level blending. Slow (seconds); for
    /// tests. Writes CV_32FC1 maps of the image size into mapX, mapY.
    /// </summary>
    public unsafe void BuildMapReference(ReadOnlySpan<PointD> current, Mat mapX, Mat mapY)
    {
        Prepare(current);
        int W = Width, H = Height;
        var srcX = new float[W * H]; var srcY = new float[W * H];
        Parallel.For(0, H, y =>
        {
            for (int x = 0; x < W; x++)
            {
                _raster.SourceAt(x, y, out double sx, out double sy);
                srcX[y * W + x] = (float)sx; srcY[y * W + x] = (float)sy;
            }
            fixed (float* rx = &srcX[y * W], ry = &srcY[y * W]) TriangleRaster.HoleFill(_full, y, rx, ry);
        });

        var outX = srcX; var outY = srcY;
        if (Options.Smoothing)
        {
            outX = new float[W * H]; outY = new float[W * H];
            var dX = new float[W * H]; var dY = new float[W * H];
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) { dX[y * W + x] = srcX[y * W + x] - x; dY[y * W + x] = srcY[y * W + x] - y; }
            using var smoother = new FieldSmoother(_full, _nominalRadii);
            fixed (float* px = dX, py = dY) smoother.Smooth(px, py);
            var radii = smoother.RadiiPx;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                {
                    int i = y * W + x;
                    double d = _face.Sample(srcX[i], srcY[i]);
                    float r = Radius((float)d);
                    double w = Weight(r);
                    FieldSmoother.Bracket(radii, r, out int lo, out float t);
                    float* a = smoother.LevelRow(lo, y) + 2 * x;
                    double sx = a[0], sy = a[1];
                    if (t > 0)
                    {
                        float* b = smoother.LevelRow(lo + 1, y) + 2 * x;
                        sx += t * (b[0] - sx); sy += t * (b[1] - sy);
                    }
                    outX[i] = (float)(x + (1 - w) * dX[i] + w * sx);
                    outY[i] = (float)(y + (1 - w) * dY[i] + w * sy);
                }
        }
        mapX.Create(H, W, MatType.CV_32FC1); mapY.Create(H, W, MatType.CV_32FC1);
        for (int y = 0; y < H; y++)
        {
            new ReadOnlySpan<float>(outX, y * W, W).CopyTo(new Span<float>((float*)mapX.Ptr(y), W));
            new ReadOnlySpan<float>(outY, y * W, W).CopyTo(new Span<float>((float*)mapY.Ptr(y), W));
        }
    }

    public void Dispose()
    {
        _smoother?.Dispose();
        MapX.Dispose(); MapY.Dispose();
    }
}
