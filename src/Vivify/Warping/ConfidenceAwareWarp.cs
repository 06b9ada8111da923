// ConfidenceAwareWarp: the dense backward warp of a portrait from moved correspondences
// (TECHNIQUE.md section 4). Construction precomputes what does not change per frame: the
// Delaunay triangulation of the reference (frame-0) points, the face region (convex hull of the
// facial points) and its signed distance map, the blur levels and all buffers. Per frame,
// BuildMap(current) fills MapX/MapY (for each output pixel, its source position in the
// portrait) and Apply() resamples the portrait through them (bilinear, BORDER_REPLICATE).
//
// The map: the exact backward field is piecewise affine (TriangleRaster: current triangles,
// barycentric coordinates, reference triangles; fold-over policy described there). With
// D(x) = source(x) - x and d = signed distance of source(x) from the face hull (in the portrait,
// so the region travels with the face), the smoothing radius is r = Rmax * clamp(d / ramp, 0, 1)
// and the weight of the smoothed field is w = clamp(r / MinRadiusPx, 0, 1). The map is
//   source'(x) = x + (1 - w) D(x) + w S_r(x),
// S_r being D blurred at radius r (blend of the two fixed levels bracketing r). w = 0 on the face,
// so the face is exactly piecewise affine; w is continuous, so there is no seam.
//
// Requires: width, height >= 2; reference points finite, at least 3 and not all collinear; one
// facial flag per point. For full coverage the caller includes fixed points along the image
// border with the four corners (pixel centres (0,0) .. (W-1,H-1)); then border pixels map to
// themselves (the blur pins the border, see FieldSmoother).
// Guarantees: maps are finite for any finite current points (fold-overs and holes handled, see
// TriangleRaster); BuildMap is the optimised path (reduced-resolution smoothed field, row bands
// in parallel, buffers reused), BuildMapReference the straightforward one (per-pixel barycentric
// search and full-resolution smoothing). Not thread-safe: one frame at a time per instance.
using OpenCvSharp;
using Vivify.Geometry;

namespace Vivify.Warping;

/// <summary>What BuildMap met in the last frame; FilledPixels counts full-resolution pixels no triangle covered.</summary>
public readonly record struct WarpFrameStats(int FlippedTriangles, int DegenerateTriangles, long FilledPixels);

public sealed class ConfidenceAwareWarp : IDisposable
{
    private const int RowsPerBand = 16;

    private readonly PointD[] _ref;
    private readonly Triangle[] _tris;
    private readonly FaceRegion _face;
    private readonly TriangleRaster _raster;
    private readonly SampleGrid _full, _coarse;
    private readonly double[] _nominalRadii;
    private readonly double _maxRadius, _ramp;
    private readonly float _radiusSlope, _weightSlope;   // r = slope * d (capped); w = slope * d (capped)

    // optimised-path state, reused across frames
    private readonly FieldSmoother? _smoother;
    private readonly float[] _coarseSrcX, _coarseSrcY, _coarseDX, _coarseDY, _smoothX, _smoothY;
    private readonly int[] _colI0, _rowJ0;
    private readonly float[] _colFx, _rowFy;
    private long _filled;

    public int Width { get; }
    public int Height { get; }
    public int PointCount => _ref.Length;
    public WarpOptions Options { get; }
    public IReadOnlyList<Triangle> Triangles => _tris;
    /// <summary>The face region: convex hull of the facial reference points (empty when none).</summary>
    public IReadOnlyList<PointD> FaceHull => _face.Hull;
    /// <summary>Effective radii (full-resolution px) of the optimised path's blur levels.</summary>
    public IReadOnlyList<double> LevelRadiiPx => _smoother?.RadiiPx ?? [];
    /// <summary>Backward map, CV_32FC1, Height x Width: valid after BuildMap; reused every frame.</summary>
    public Mat MapX { get; }
    public Mat MapY { get; }
    public WarpFrameStats LastStats { get; private set; }

    public ConfidenceAwareWarp(int width, int height, ReadOnlySpan<PointD> reference, ReadOnlySpan<bool> isFacial,
        WarpOptions? options = null)
    {
        if (width < 2 || height < 2) throw new ArgumentException($"image too small: {width}x{height}");
        if (isFacial.Length != reference.Length)
            throw new ArgumentException($"{reference.Length} points but {isFacial.Length} facial flags", nameof(isFacial));
        Options = options ?? WarpOptions.Default;
        Options.Validate(width, height);
        Width = width; Height = height;
        _ref = reference.ToArray();
        _tris = Triangulation.Delaunay(_ref);
        var facial = new List<PointD>();
        for (int i = 0; i < _ref.Length; i++) if (isFacial[i]) facial.Add(_ref[i]);
        _face = new FaceRegion(width, height, facial);
        _raster = new TriangleRaster(_tris, _ref);

        _maxRadius = Options.MaxRadiusPx(width, height);
        _ramp = Options.RampDistancePx(width, height);
        _radiusSlope = (float)(_maxRadius / _ramp);
        _weightSlope = (float)(_maxRadius / (_ramp * Options.MinRadiusPx));
        int k = Options.Levels;
        _nominalRadii = k == 1 ? [_maxRadius]
            : Enumerable.Range(0, k).Select(i => Options.MinRadiusPx * Math.Pow(_maxRadius / Options.MinRadiusPx, i / (double)(k - 1))).ToArray();

        _full = SampleGrid.Full(width, height);
        _coarse = SampleGrid.Coarse(width, height, Options.FieldScale);
        int n = _coarse.Width * _coarse.Height;
        _coarseSrcX = new float[n]; _coarseSrcY = new float[n];
        _coarseDX = new float[n]; _coarseDY = new float[n];
        _smoothX = new float[n]; _smoothY = new float[n];
        if (Options.Smoothing) _smoother = new FieldSmoother(_coarse, _nominalRadii);

        // bilinear upsampling tables, coarse grid -> pixels
        _colI0 = new int[width]; _colFx = new float[width];
        for (int x = 0; x < width; x++) Locate(x / _coarse.Sx, _coarse.Width, out _colI0[x], out _colFx[x]);
        _rowJ0 = new int[height]; _rowFy = new float[height];
        for (int y = 0; y < height; y++) Locate(y / _coarse.Sy, _coarse.Height, out _rowJ0[y], out _rowFy[y]);

        MapX = new Mat(height, width, MatType.CV_32FC1);
        MapY = new Mat(height, width, MatType.CV_32FC1);
    }

    private static void Locate(double u, int n, out int i0, out float f)
    {
        i0 = Math.Clamp((int)Math.Floor(u), 0, n - 2);
        f = (float)Math.Clamp(u - i0, 0, 1);
    }

    /// <summary>Signed distance (px) of a portrait point from the face region, negative inside.</summary>
    public double DistanceFromFace(double x, double y) => _face.SignedDistanceAt(x, y);

    /// <summary>Smoothing radius (px) wanted at a portrait point: 0 on the face, growing to the cap.</summary>
    public double SmoothingRadiusAt(double x, double y)
        => _maxRadius * Math.Clamp(DistanceFromFace(x, y) / _ramp, 0, 1);

    /// <summary>Builds MapX/MapY for the current positions of the reference points (optimised path).</summary>
    public unsafe void BuildMap(ReadOnlySpan<PointD> current)
    {
        _raster.Setup(current);
        _filled = 0;
        if (_smoother is not null) BuildSmoothedCoarseField();

        int bands = (Height + RowsPerBand - 1) / RowsPerBand;
        Parallel.For(0, bands, () => new float[2 * _coarse.Width], (b, _, rowBuf) =>
        {
            int y0 = b * RowsPerBand, y1 = Math.Min(Height, y0 + RowsPerBand);
            float* mx = (float*)MapX.Data, my = (float*)MapY.Data;
            new Span<float>(mx + (long)y0 * Width, (y1 - y0) * Width).Fill(float.NaN);
            _raster.RasterizeRows(_full, y0, y1, mx, my);
            long filled = 0;
            for (int y = y0; y < y1; y++)
            {
                float* rx = mx + (long)y * Width, ry = my + (long)y * Width;
                filled += TriangleRaster.HoleFill(_full, y, rx, ry);
                if (_smoother is not null) FinishRow(y, rx, ry, rowBuf);
            }
            if (filled != 0) Interlocked.Add(ref _filled, filled);
            return rowBuf;
        }, _ => { });
        LastStats = new WarpFrameStats(_raster.FlippedCount, _raster.DegenerateCount, _filled);
    }

    /// <summary>Exact field on the coarse grid, blurred at every level, blended per sample by its radius.</summary>
    private unsafe void BuildSmoothedCoarseField()
    {
        var g = _coarse;
        int w = g.Width, h = g.Height;
        fixed (float* sx = _coarseSrcX, sy = _coarseSrcY, dx = _coarseDX, dy = _coarseDY)
        {
            _coarseSrcX.AsSpan().Fill(float.NaN);
            _raster.RasterizeRows(g, 0, h, sx, sy);
            for (int j = 0; j < h; j++)
            {
                TriangleRaster.HoleFill(g, j, sx + j * w, sy + j * w);
                for (int i = 0; i < w; i++)
                {
                    dx[j * w + i] = sx[j * w + i] - (float)(i * g.Sx);
                    dy[j * w + i] = sy[j * w + i] - (float)(j * g.Sy);
                }
            }
            _smoother!.Smooth(dx, dy);
        }
        var radii = _smoother.RadiiPx;
        var dist = _face.SignedDistance;
        for (int j = 0; j < h; j++)
        {
            for (int i = 0; i < w; i++)
            {
                int idx = j * w + i;
                float d = FaceRegion.Sample(dist, Width, Height, _coarseSrcX[idx], _coarseSrcY[idx]);
                double r = Math.Min(_maxRadius, Math.Max(0, d * _radiusSlope));
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
        }
    }

    /// <summary>Blends one full-resolution row of exact sources with the upsampled smoothed field.</summary>
    private unsafe void FinishRow(int y, float* rx, float* ry, float[] rowBuf)
    {
        int gw = _coarse.Width;
        int j0 = _rowJ0[y]; float fy = _rowFy[y];
        fixed (float* sX = _smoothX, sY = _smoothY, buf = rowBuf, dist = _face.SignedDistance)
        {
            float* ax = sX + j0 * gw, bx = ax + gw, ay = sY + j0 * gw, by = ay + gw;
            float* ux = buf, uy = buf + gw;
            for (int i = 0; i < gw; i++)
            {
                ux[i] = ax[i] + fy * (bx[i] - ax[i]);
                uy[i] = ay[i] + fy * (by[i] - ay[i]);
            }
            int W = Width, H = Height;
            float slope = _weightSlope, maxX = W - 1, maxY = H - 1;
            for (int x = 0; x < W; x++)
            {
                float px = rx[x], py = ry[x];
                // bilinear signed distance at the source (in the portrait)
                float cx = Math.Clamp(px, 0f, maxX), cy = Math.Clamp(py, 0f, maxY);
                int x0 = Math.Min((int)cx, W - 2), y0 = Math.Min((int)cy, H - 2);
                float fx = cx - x0, fyy = cy - y0;
                float* d0 = dist + (long)y0 * W + x0;
                float top = d0[0] + fx * (d0[1] - d0[0]);
                float bot = d0[W] + fx * (d0[W + 1] - d0[W]);
                float wgt = (top + fyy * (bot - top)) * slope;
                if (wgt <= 0) continue;
                if (wgt > 1) wgt = 1;
                int i0 = _colI0[x]; float f = _colFx[x];
                float sx = ux[i0] + f * (ux[i0 + 1] - ux[i0]);
                float sy = uy[i0] + f * (uy[i0 + 1] - uy[i0]);
                rx[x] = px + wgt * (x + sx - px);
                ry[x] = py + wgt * (y + sy - py);
            }
        }
    }

    /// <summary>Resamples the portrait through the last map: bilinear, BORDER_REPLICATE.</summary>
    public void Apply(Mat portrait, Mat output)
    {
        if (portrait.Width != Width || portrait.Height != Height)
            throw new ArgumentException($"portrait is {portrait.Width}x{portrait.Height}, the warp was built for {Width}x{Height}", nameof(portrait));
        Cv2.Remap(portrait, output, MapX, MapY, InterpolationFlags.Linear, BorderTypes.Replicate);
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
        _raster.Setup(current);
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
                    double r = _maxRadius * Math.Clamp(d / _ramp, 0, 1);
                    double w = Math.Clamp(r / Options.MinRadiusPx, 0, 1);
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
