// DetailTransfer: copies the driver's fine-scale expression details (forehead lines, nasolabial
// folds, crow's feet, frown lines) onto the animated portrait, TECHNIQUE.md stage 6.
// Everything is measured in a canonical face space: the driver's neutral frame V_0, scaled to a
// fixed inter-ocular distance, with the 68 landmarks plus an arc of forehead points that move
// with the head only (so raised brows compress the forehead). Per frame:
//  1. V_i is warped piecewise-affinely into canonical space (V_i->0; the paper's V_0->i seen from
//     the other side: the same pixels compared at the same skin point), and the log-luminance
//     ratio r = log Y(V_i->0) - log Y(V_0) is taken.
//  2. Outliers are removed: r is band-passed (finer than pixel noise, coarser than illumination:
//     a normalised-convolution low-pass that ignores the feature edges); feature edges (eyes,
//     brows, lips, nostrils, jaw line) and the mouth are masked, and so are occluders (hair over
//     the forehead: much darker than the face's skin in V_0 or V_i); regions of strong ratio thicker
//     than a crease (cast shadows, specularities) are rejected by a morphological opening; only
//     skin the driver's landmarks deform keeps details (compression: 1 - smallest singular value
//     of each triangle's affine map with head motion removed, where creases form; stretch, at
//     half weight, where the neutral frame's creases smooth out); given the portrait, brightening is
//     kept only as far as the portrait's own skin is dark there (a crease it has can smooth out, one
//     it lacks cannot); the map is smoothed over frames and clamped.
//  3. The cleaned map is warped to the output's landmarks (plus the portrait's forehead arc) and
//     multiplies the output's B, G and R alike (luminance only: chromaticity is unchanged).
// Requires: 68-point landmarks of the driver's neutral frame and image; per frame the driver's
// frame, its landmarks, and the output frame's landmarks; call in frame order.
// Guarantees: pixels outside the portrait's face (jaw line and forehead arc) never change; a
// frame whose landmarks do not deform the skin (no expression) leaves the output unchanged, bit
// for bit; the factor applied stays within [exp(-MaxDarken), exp(MaxBrighten)]. Step 3's multiply runs eight pixels
// at a time where the CPU has AVX2, giving the scalar loop's bytes exactly (tested).
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Warping;

namespace Vivify.Details;

/// <summary>Settings of the detail transfer (immutable).</summary>
public sealed record DetailOptions
{
    /// <summary>Scales the transferred details (1 = as in the driver).</summary>
    public double Strength { get; init; } = 1.0;
    /// <summary>Canonical face space: inter-ocular distance in pixels.</summary>
    public double CanonicalIod { get; init; } = 48;
    /// <summary>Finer than this (IODs, Gaussian sigma) is pixel noise and compression artefacts.</summary>
    public double NoiseSigmaIod { get; init; } = 0.012;
    /// <summary>Coarser than this (IODs, Gaussian sigma) is illumination change.</summary>
    public double IlluminationSigmaIod { get; init; } = 0.09;
    /// <summary>Half-width of the masks around eyes, brows, lips, nostrils and jaw line (IODs).</summary>
    public double EdgeMaskIod { get; init; } = 0.05;
    /// <summary>Regions of strong ratio thicker than this (IODs) are shadows or highlights, not creases.</summary>
    public double BlobWidthIod { get; init; } = 0.13;
    /// <summary>|band-passed log ratio| above which a pixel counts towards a blob.</summary>
    public double BlobThreshold { get; init; } = 0.05;
    /// <summary>Skin strain (compression: 1 - smallest singular value) where details start, and are fully kept.</summary>
    public double CompressionStart { get; init; } = 0.03;
    public double CompressionFull { get; init; } = 0.10;
    /// <summary>Band-passed log ratios smaller than this are noise: shrunk to zero (soft threshold).</summary>
    public double Coring { get; init; } = 0.0;
    /// <summary>How much stretched skin (largest singular value above 1) opens the gate, against compression:
    /// creases of the neutral frame smooth out where the skin stretches.</summary>
    public double StretchWeight { get; init; } = 0.5;
    /// <summary>Clamp of the log factor: darkening and brightening.</summary>
    public double MaxDarken { get; init; } = 0.35;
    public double MaxBrighten { get; init; } = 0.2;
    /// <summary>Weight of the new frame in the temporal smoothing of the detail map (1 = none).</summary>
    public double TemporalWeight { get; init; } = 0.5;
    /// <summary>Pixels darker than this share of the face's median skin luminance, in the neutral frame or the current
    /// one, are hair (a fringe over the forehead, sideburns) or other occluders, not skin: no details there or within
    /// <see cref="OccluderMarginIod"/> of them (0: off). A crease darkens the skin by a third at most. Measured: cage
    /// driven by franck.mp4 20-30 s had bright streaks on the forehead where franck's fringe moved; gone at 0.5. The
    /// rule's cost on eval self: cap12_edit 0-12 s face SSIM 0.918 vs 0.919, franck 20-30 s unchanged.</summary>
    public double OccluderLuminance { get; init; } = 0.5;
    public double OccluderMarginIod { get; init; } = 0.05;
    /// <summary>With the portrait given: the driver's brightening (a crease of its neutral frame smoothing out) is
    /// kept only up to how dark the portrait's own skin is there (band-passed log luminance), plus this much. A
    /// portrait without that crease would otherwise get a pale blotch (audrey driven by cap12_edit's raised brows:
    /// the driver's frown lines smooth out over her smooth glabella). Negative: no bound.</summary>
    public double BrightenAllowance { get; init; } = 0.02;
}

public sealed class DetailTransfer : IDisposable
{
    // Forehead arc, in the eye frame (x along the eyes, y up, unit = IOD, origin between the eyes).
    private static readonly (double X, double Y)[] ForeheadArc =
        [(-1.05, 0.45), (-0.8, 0.75), (-0.4, 0.92), (0, 0.97), (0.4, 0.92), (0.8, 0.75), (1.05, 0.45)];
    public const int PointCount = FaceLandmarks.Count + 7;

    private readonly DetailOptions _o;
    private readonly Triangle[] _tris;
    private readonly PointD[] _canon;          // canonical points (68 + forehead)
    private readonly PointD[] _driverNeutral;  // driver neutral points (68 + forehead)
    private readonly PointD[] _portraitRef;    // portrait reference points (68 + forehead)
    private readonly int _cw, _ch;
    private readonly int[] _triOf;             // per canonical pixel: triangle, -1 outside
    private readonly float[] _bary;            // per canonical pixel: 3 barycentric weights
    private readonly Mat _logNeutral;          // log Y of the driver's neutral frame, canonical
    private readonly Mat _staticGate;          // face mask x (1 - feature-edge mask), canonical
    private readonly Mat _neutralDark;         // occluders (hair) in the neutral frame, canonical (0/255)
    private readonly Mat _lowWeight;           // weights of the normalised low-pass (0 on feature edges)
    private readonly Mat _lowWeightBlur;
    private readonly Mat? _brightenRoom;       // per canonical pixel: the most a detail may brighten (log), null: no bound
    private readonly Mat _mapX, _mapY;
    private readonly Mat _detail;              // the current detail map (log factor), canonical
    private readonly Mat _factor;              // exp(strength x detail): what multiplies the output
    private readonly TriangleRaster _outRaster;
    private bool _hasPrevious;

    public DetailOptions Options => _o;
    /// <summary>Canonical-space size (for tests and figures).</summary>
    public Size CanonicalSize => new(_cw, _ch);
    /// <summary>The last frame's cleaned detail map (log factor, canonical space).</summary>
    public Mat LastDetail => _detail;
    /// <summary>Largest |log factor| of the last frame (0 when nothing was applied).</summary>
    public double LastMaxAbs { get; private set; }

    /// <param name="portrait">the portrait (BGR); when given, brightening is bounded by its own creases (see
    /// <see cref="DetailOptions.BrightenAllowance"/>)</param>
    public DetailTransfer(Mat driverNeutral, PointD[] driverNeutralLandmarks, PointD[] portraitLandmarks, DetailOptions? options = null,
        Mat? portrait = null)
    {
        _o = options ?? new DetailOptions();
        _driverNeutral = WithForehead(driverNeutralLandmarks);
        _portraitRef = WithForehead(portraitLandmarks);

        // canonical space: the driver's neutral points, eyes level, IOD = CanonicalIod
        var le = FaceLandmarks.LeftEyeCenter(driverNeutralLandmarks); var re = FaceLandmarks.RightEyeCenter(driverNeutralLandmarks);
        var d = re - le; double iod = d.Length;
        double s = _o.CanonicalIod / iod, c = d.X / iod, sn = d.Y / iod;
        var rot = new Similarity(s * c, -s * sn, 0, 0);                          // rotate eyes level, scale
        var pts = _driverNeutral.Select(rot.Apply).ToArray();
        double pad = 3, minX = pts.Min(p => p.X) - pad, minY = pts.Min(p => p.Y) - pad;
        _canon = pts.Select(p => new PointD(p.X - minX, p.Y - minY)).ToArray();
        _cw = (int)Math.Ceiling(_canon.Max(p => p.X) + pad) + 1;
        _ch = (int)Math.Ceiling(_canon.Max(p => p.Y) + pad) + 1;

        _tris = Triangulation.Delaunay(_canon, Dlib68Mesh.ConstraintEdges(), out _);
        (_triOf, _bary) = RasteriseCanonical();
        _mapX = new Mat(_ch, _cw, MatType.CV_32FC1);
        _mapY = new Mat(_ch, _cw, MatType.CV_32FC1);
        _detail = new Mat(_ch, _cw, MatType.CV_32FC1, Scalar.All(0));
        _factor = new Mat(_ch, _cw, MatType.CV_32FC1, Scalar.All(1));
        _logNeutral = LogLuminance(driverNeutral, _driverNeutral);
        (_staticGate, _lowWeight) = StaticMasks();
        _neutralDark = DarkMask(_logNeutral);
        _lowWeightBlur = new Mat();
        Cv2.GaussianBlur(_lowWeight, _lowWeightBlur, new Size(0, 0), _o.IlluminationSigmaIod * _o.CanonicalIod);
        _outRaster = new TriangleRaster(_tris, _canon);
        if (portrait is not null && _o.BrightenAllowance >= 0) _brightenRoom = BrightenRoom(portrait);
    }

    /// <summary>How dark the portrait's skin is against its surroundings (the detail band), canonical: a driver's
    /// crease that smooths out may brighten the portrait this much (plus the allowance), no more.</summary>
    private Mat BrightenRoom(Mat portrait)
    {
        // shrink the portrait to about the canonical scale first, so the warp into canonical space does not alias
        double f = Math.Min(1, 1.5 * _o.CanonicalIod / FaceLandmarks.InterOcularDistance(_portraitRef.AsSpan(0, FaceLandmarks.Count)));
        using var small = new Mat();
        if (f < 1) Cv2.Resize(portrait, small, new Size(0, 0), f, f, InterpolationFlags.Area); else portrait.CopyTo(small);
        using var logY = LogLuminance(small, [.. _portraitRef.Select(p => f * p)]);
        var room = BandPass(logY);
        var rs = room.AsSpan<float>(); float allowance = (float)_o.BrightenAllowance;
        for (int k = 0; k < rs.Length; k++) rs[k] = Math.Max(0, -rs[k]) + allowance;
        return room;
    }

    /// <summary>The detail band of a canonical log-luminance image: finer than illumination (a normalised low-pass
    /// that ignores feature edges is taken off), coarser than pixel noise (a small blur).</summary>
    private Mat BandPass(Mat logY)
    {
        var bp = new Mat();
        Cv2.GaussianBlur(logY, bp, new Size(0, 0), Math.Max(0.5, _o.NoiseSigmaIod * _o.CanonicalIod));
        using var low = new Mat();
        Cv2.Multiply(logY, _lowWeight, low);
        Cv2.GaussianBlur(low, low, new Size(0, 0), _o.IlluminationSigmaIod * _o.CanonicalIod);
        var bs = bp.AsSpan<float>(); var ls = low.AsSpan<float>(); var lw = _lowWeightBlur.AsSpan<float>();
        for (int k = 0; k < bs.Length; k++)
        {
            float v = bs[k] - ls[k] / lw[k];
            bs[k] = float.IsFinite(v) ? v : 0;
        }
        return bp;
    }

    /// <summary>The 68 landmarks followed by the forehead arc, placed by the eyes.</summary>
    public static PointD[] WithForehead(ReadOnlySpan<PointD> l)
    {
        var le = FaceLandmarks.LeftEyeCenter(l); var re = FaceLandmarks.RightEyeCenter(l);
        var mid = 0.5 * (le + re); var x = re - le; var up = new PointD(x.Y, -x.X);   // y down in images: up = x rotated -90 degrees
        var r = new PointD[PointCount];
        l[..FaceLandmarks.Count].CopyTo(r);
        for (int k = 0; k < ForeheadArc.Length; k++)
            r[FaceLandmarks.Count + k] = mid + ForeheadArc[k].X * x + ForeheadArc[k].Y * up;
        return r;
    }

    /// <summary>
    /// Points of a frame: the landmarks, and the forehead arc carried from the reference by the
    /// head's motion (a similarity on stable points), so brows that rise compress the forehead.
    /// </summary>
    private static PointD[] Carry(PointD[] reference, ReadOnlySpan<PointD> landmarks)
    {
        var h = Similarity.Fit(reference.AsSpan(0, FaceLandmarks.Count), landmarks[..FaceLandmarks.Count], Correspondences.StableIndices);
        var r = new PointD[PointCount];
        landmarks[..FaceLandmarks.Count].CopyTo(r);
        for (int k = FaceLandmarks.Count; k < PointCount; k++) r[k] = h.Apply(reference[k]);
        return r;
    }

    /// <summary>
    /// Computes this frame's detail map from the driver and multiplies it into the output's face.
    /// </summary>
    public void Apply(Mat output, ReadOnlySpan<PointD> outputLandmarks, Mat driver, ReadOnlySpan<PointD> driverLandmarks)
    {
        var drv = Carry(_driverNeutral, driverLandmarks);
        ComputeDetail(driver, drv);
        if (LastMaxAbs == 0) return;
        ApplyToOutput(output, Carry(_portraitRef, outputLandmarks));
    }

    // ---- driver side (canonical space) ----

    private void ComputeDetail(Mat driver, PointD[] drv)
    {
        using var r = LogLuminance(driver, drv);
        using var occluders = Occluders(r);
        var rs = r.AsSpan<float>();
        var ln = _logNeutral.AsSpan<float>();
        for (int k = 0; k < rs.Length; k++) rs[k] -= ln[k];                      // log ratio
        double iodC = _o.CanonicalIod;
        // band-pass: fine noise out (small blur), illumination out (normalised low-pass that ignores feature edges)
        using var bp = BandPass(r);
        var bs = bp.AsSpan<float>();
        using var strong = new Mat(_ch, _cw, MatType.CV_8UC1);
        var ss = strong.AsSpan<byte>();
        float coring = (float)_o.Coring, blobT = (float)_o.BlobThreshold;
        for (int k = 0; k < bs.Length; k++)
        {
            float v = bs[k];
            if (coring > 0) v = v > coring ? v - coring : v < -coring ? v + coring : 0;
            bs[k] = v;
            ss[k] = Math.Abs(v) > blobT ? (byte)255 : (byte)0;
        }

        // blobs: strong ratio over regions thicker than a crease (shadows, highlights)
        int kw = Math.Max(3, (int)Math.Round(_o.BlobWidthIod * iodC)) | 1;
        using var kernel = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(kw, kw));
        using var blobs = new Mat();
        Cv2.MorphologyEx(strong, blobs, MorphTypes.Open, kernel);
        Cv2.Dilate(blobs, blobs, kernel);
        using var blobF = new Mat();
        blobs.ConvertTo(blobF, MatType.CV_32FC1, 1.0 / 255);
        Cv2.GaussianBlur(blobF, blobF, new Size(0, 0), kw / 4.0);

        using var gate = CompressionGate(drv);
        var gs = gate.AsSpan<float>(); var bf = blobF.AsSpan<float>(); var st = _staticGate.AsSpan<float>(); var oc = occluders.AsSpan<float>();
        var ds = _detail.AsSpan<float>(); var fs = _factor.AsSpan<float>();
        float hi = (float)_o.MaxBrighten, lo = (float)-_o.MaxDarken, wNew = _hasPrevious ? (float)_o.TemporalWeight : 1f, strength = (float)_o.Strength;
        float mx = 0;
        var room = _brightenRoom is null ? default : _brightenRoom.AsSpan<float>();
        for (int k = 0; k < ds.Length; k++)
        {
            float v = bs[k] * (1 - bf[k]) * gs[k] * st[k] * (1 - oc[k]);
            v = v > hi ? hi : v < lo ? lo : v;
            if (_brightenRoom is not null && v > room[k]) v = room[k];
            v = wNew * v + (1 - wNew) * ds[k];
            ds[k] = v;
            mx = Math.Max(mx, Math.Abs(v));
        }
        _hasPrevious = true;
        double maxAbs = mx * _o.Strength;
        // below a tenth of a grey level on white: nothing to apply
        LastMaxAbs = maxAbs < 4e-4 ? 0 : maxAbs;
        if (LastMaxAbs == 0) return;
        for (int k = 0; k < fs.Length; k++) fs[k] = ds[k] == 0 ? 1f : MathF.Exp(strength * ds[k]);
    }

    /// <summary>Occluders in the neutral frame or this one (log-luminance image, canonical), grown by the margin and
    /// feathered: 1 on hair, 0 on skin.</summary>
    private Mat Occluders(Mat logCurrent)
    {
        var o = new Mat(_ch, _cw, MatType.CV_32FC1, Scalar.All(0));
        if (_o.OccluderLuminance <= 0) return o;
        using var dark = DarkMask(logCurrent);
        Cv2.BitwiseOr(dark, _neutralDark, dark);
        int m = Math.Max(1, (int)Math.Round(_o.OccluderMarginIod * _o.CanonicalIod));
        using var kernel = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * m + 1, 2 * m + 1));
        Cv2.Dilate(dark, dark, kernel);
        dark.ConvertTo(o, MatType.CV_32FC1, 1.0 / 255);
        Cv2.GaussianBlur(o, o, new Size(0, 0), m / 2.0);
        return o;
    }

    /// <summary>Pixels of a canonical log-luminance image darker than OccluderLuminance x the median over the skin (0/255).</summary>
    private Mat DarkMask(Mat logY)
    {
        var mask = new Mat(_ch, _cw, MatType.CV_8UC1, Scalar.All(0));
        if (_o.OccluderLuminance <= 0) return mask;
        // median of log(Y + 8) over the skin (the static gate), by a histogram over its range [log 8, log 263]
        const int bins = 512; float lo = MathF.Log(8), hi = MathF.Log(263), scale = bins / (hi - lo);
        Span<int> hist = stackalloc int[bins];
        var ys = logY.AsSpan<float>(); var st = _staticGate.AsSpan<float>();
        int n = 0;
        for (int k = 0; k < ys.Length; k++)
            if (st[k] > 0.5f) { hist[Math.Clamp((int)((ys[k] - lo) * scale), 0, bins - 1)]++; n++; }
        if (n == 0) return mask;
        int half = n / 2, acc = 0, b = 0;
        for (; b < bins - 1; b++) { acc += hist[b]; if (acc > half) break; }
        float median = lo + (b + 0.5f) / scale;
        float threshold = MathF.Log((float)_o.OccluderLuminance * (MathF.Exp(median) - 8) + 8);
        var ms = mask.AsSpan<byte>();
        for (int k = 0; k < ys.Length; k++) if (st[k] > 0.5f && ys[k] < threshold) ms[k] = 255;   // on skin: eyes, brows, nostrils, lips are masked already
        return mask;
    }

    /// <summary>Per canonical pixel: how much the driver deforms (compresses, or stretches) the skin there (0..1, smoothed).</summary>
    private Mat CompressionGate(PointD[] drv)
    {
        // remove the head's motion: carry the frame's points back into canonical space
        var h = Similarity.Fit(drv, _canon, Correspondences.StableIndices);
        var cur = drv.Select(h.Apply).ToArray();
        var perTri = new float[_tris.Length];
        for (int t = 0; t < _tris.Length; t++)
        {
            var (a, b, c) = _tris[t];
            // linear map canonical edge vectors -> current edge vectors
            var e1 = _canon[b] - _canon[a]; var e2 = _canon[c] - _canon[a];
            var f1 = cur[b] - cur[a]; var f2 = cur[c] - cur[a];
            double det = e1.X * e2.Y - e2.X * e1.Y;
            if (Math.Abs(det) < 1e-9) continue;
            // M = F E^-1
            double i00 = e2.Y / det, i01 = -e2.X / det, i10 = -e1.Y / det, i11 = e1.X / det;
            double m00 = f1.X * i00 + f2.X * i10, m01 = f1.X * i01 + f2.X * i11;
            double m10 = f1.Y * i00 + f2.Y * i10, m11 = f1.Y * i01 + f2.Y * i11;
            // smallest singular value of M
            double p = m00 * m00 + m01 * m01 + m10 * m10 + m11 * m11, q = m00 * m11 - m01 * m10;
            double disc = Math.Sqrt(Math.Max(0, p * p - 4 * q * q));
            double smin = Math.Sqrt(Math.Max(0, (p - disc) / 2)), smax = Math.Sqrt((p + disc) / 2);
            double strain = Math.Max(1 - smin, _o.StretchWeight * (smax - 1));
            double x = Math.Clamp((strain - _o.CompressionStart) / (_o.CompressionFull - _o.CompressionStart), 0, 1);
            perTri[t] = (float)(x * x * (3 - 2 * x));
        }
        var gate = new Mat(_ch, _cw, MatType.CV_32FC1);
        var span = gate.AsSpan<float>();
        for (int k = 0; k < span.Length; k++) span[k] = _triOf[k] >= 0 ? perTri[_triOf[k]] : 0;
        // a crease runs past the triangle that compresses: spread the gate a little
        Cv2.GaussianBlur(gate, gate, new Size(0, 0), 0.08 * _o.CanonicalIod);
        return gate;
    }

    /// <summary>log(Y + 8) of an image warped into canonical space through the frame's points.</summary>
    private Mat LogLuminance(Mat image, PointD[] pts)
    {
        // only the points' bounding box of the frame is needed
        int x0 = Math.Max(0, (int)Math.Floor(pts.Min(p => p.X)) - 2), y0 = Math.Max(0, (int)Math.Floor(pts.Min(p => p.Y)) - 2);
        int x1 = Math.Min(image.Width, (int)Math.Ceiling(pts.Max(p => p.X)) + 3), y1 = Math.Min(image.Height, (int)Math.Ceiling(pts.Max(p => p.Y)) + 3);
        var box = x1 - x0 >= 2 && y1 - y0 >= 2 ? new Rect(x0, y0, x1 - x0, y1 - y0) : new Rect(0, 0, image.Width, image.Height);
        var mx = _mapX.AsSpan<float>(); var my = _mapY.AsSpan<float>();
        for (int k = 0; k < mx.Length; k++)
        {
            int t = _triOf[k];
            if (t < 0) { mx[k] = -1; my[k] = -1; continue; }
            var (a, b, c) = _tris[t];
            float wa = _bary[3 * k], wb = _bary[3 * k + 1], wc = _bary[3 * k + 2];
            mx[k] = (float)(wa * pts[a].X + wb * pts[b].X + wc * pts[c].X - box.X);
            my[k] = (float)(wa * pts[a].Y + wb * pts[b].Y + wc * pts[c].Y - box.Y);
        }
        using var sub = new Mat(image, box);
        using var grey = new Mat();
        Cv2.CvtColor(sub, grey, ColorConversionCodes.BGR2GRAY);
        using var greyF = new Mat();
        grey.ConvertTo(greyF, MatType.CV_32FC1);
        var y = new Mat();
        Cv2.Remap(greyF, y, _mapX, _mapY, InterpolationFlags.Linear, BorderTypes.Replicate);
        var ys = y.AsSpan<float>();
        for (int k = 0; k < ys.Length; k++) ys[k] = MathF.Log(ys[k] + 8);
        return y;
    }

    private (int[] TriOf, float[] Bary) RasteriseCanonical()
    {
        var triOf = new int[_cw * _ch]; Array.Fill(triOf, -1);
        var bary = new float[3 * _cw * _ch];
        for (int t = 0; t < _tris.Length; t++)
        {
            var (ia, ib, ic) = _tris[t];
            PointD a = _canon[ia], b = _canon[ib], c = _canon[ic];
            int x0 = Math.Max(0, (int)Math.Floor(Math.Min(a.X, Math.Min(b.X, c.X)))), x1 = Math.Min(_cw - 1, (int)Math.Ceiling(Math.Max(a.X, Math.Max(b.X, c.X))));
            int y0 = Math.Max(0, (int)Math.Floor(Math.Min(a.Y, Math.Min(b.Y, c.Y)))), y1 = Math.Min(_ch - 1, (int)Math.Ceiling(Math.Max(a.Y, Math.Max(b.Y, c.Y))));
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++)
                {
                    if (!Triangulation.Barycentric(a, b, c, new PointD(x, y), out double la, out double lb, out double lc)) continue;
                    int k = y * _cw + x;
                    triOf[k] = t; bary[3 * k] = (float)la; bary[3 * k + 1] = (float)lb; bary[3 * k + 2] = (float)lc;
                }
        }
        return (triOf, bary);
    }

    /// <summary>
    /// The masks that do not change from frame to frame (canonical space is the neutral frame's
    /// geometry): the face (inside the jaw line and forehead arc, feathered) without the feature
    /// edges, and the weights of the illumination low-pass (feature edges and the mouth left out).
    /// </summary>
    private (Mat Gate, Mat LowWeight) StaticMasks()
    {
        double iodC = _o.CanonicalIod;
        int w = Math.Max(1, (int)Math.Round(2 * _o.EdgeMaskIod * iodC));
        Point P(int i) => new((int)Math.Round(_canon[i].X), (int)Math.Round(_canon[i].Y));
        Point[] Run(int from, int to) => Enumerable.Range(from, to - from + 1).Select(P).ToArray();

        using var face = new Mat(_ch, _cw, MatType.CV_8UC1, Scalar.All(0));
        var outline = Run(0, 16).Concat(Enumerable.Range(FaceLandmarks.Count, 7).Reverse().Select(P)).ToArray();
        Cv2.FillPoly(face, [outline], Scalar.All(255));
        Cv2.Polylines(face, [Run(0, 16)], false, Scalar.All(0), w);      // the jaw line itself is an edge
        using var edges = new Mat(_ch, _cw, MatType.CV_8UC1, Scalar.All(0));
        Cv2.Polylines(edges, [Run(17, 21), Run(22, 26)], false, Scalar.All(255), (int)(1.6 * w));    // brows (thick: hair moves)
        Cv2.FillPoly(edges, [Run(36, 41), Run(42, 47), Run(48, 59)], Scalar.All(255));             // eyes, lips
        Cv2.Polylines(edges, [Run(36, 41), Run(42, 47)], true, Scalar.All(255), (int)(1.4 * w));    // lids: their creases move with the eye's opening
        Cv2.Polylines(edges, [Run(48, 59)], true, Scalar.All(255), w);
        Cv2.Polylines(edges, [Run(31, 35)], false, Scalar.All(255), (int)(1.8 * w));                // nostrils (above the nose base points)
        Cv2.Polylines(edges, [Run(27, 30)], false, Scalar.All(255), w);                             // nose ridge
        Cv2.Polylines(edges, [Run(0, 16)], false, Scalar.All(255), w);

        using var faceF = new Mat(); face.ConvertTo(faceF, MatType.CV_32FC1, 1.0 / 255);
        using var edgeF = new Mat(); edges.ConvertTo(edgeF, MatType.CV_32FC1, 1.0 / 255);
        var lowWeight = new Mat();
        Cv2.Subtract(Scalar.All(1.0), edgeF, lowWeight);
        Cv2.Max(lowWeight, 0.02, lowWeight);          // never zero: the normalised low-pass stays defined
        Cv2.GaussianBlur(faceF, faceF, new Size(0, 0), 0.06 * iodC);
        Cv2.GaussianBlur(edgeF, edgeF, new Size(0, 0), 0.03 * iodC);
        var gate = new Mat();
        Cv2.Subtract(Scalar.All(1.0), edgeF, gate);
        Cv2.Multiply(gate, faceF, gate);
        Cv2.Max(gate, 0, gate);
        return (gate, lowWeight);
    }

    // ---- output side ----

    /// <summary>Scale the output's pixels by the factor eight at a time where the CPU has AVX2 (the same bytes as the
    /// scalar loop, which the tests check).</summary>
    internal bool VectorisedScale { get; set; } = Avx2.IsSupported;

    private unsafe void ApplyToOutput(Mat output, PointD[] outPts)
    {
        int minX = (int)Math.Floor(outPts.Min(p => p.X)), minY = (int)Math.Floor(outPts.Min(p => p.Y));
        int maxX = (int)Math.Ceiling(outPts.Max(p => p.X)), maxY = (int)Math.Ceiling(outPts.Max(p => p.Y));
        var roi = new Rect(minX, minY, maxX - minX + 1, maxY - minY + 1).Intersect(new Rect(0, 0, output.Width, output.Height));
        if (roi.Width < 4 || roi.Height < 4) return;
        var shifted = outPts.Select(p => new PointD(p.X - roi.X, p.Y - roi.Y)).ToArray();
        _outRaster.Setup(shifted);
        // the factor is smooth at the output's scale (it comes from the canonical map): find its
        // source on a grid as fine as one canonical pixel (at most 4 output pixels), then interpolate
        int gridStep = Math.Clamp((int)(FaceLandmarks.InterOcularDistance(outPts) / _o.CanonicalIod), 1, 4);
        var grid = SampleGrid.Coarse(roi.Width, roi.Height, gridStep);
        using var mapX = new Mat(grid.Height, grid.Width, MatType.CV_32FC1, Scalar.All(float.NaN));
        using var mapY = new Mat(grid.Height, grid.Width, MatType.CV_32FC1, Scalar.All(float.NaN));
        _outRaster.RasterizeRows(grid, 0, grid.Height, (float*)mapX.Data, (float*)mapY.Data);
        Cv2.PatchNaNs(mapX, -10); Cv2.PatchNaNs(mapY, -10);
        using var coarse = new Mat();
        Cv2.Remap(_factor, coarse, mapX, mapY, InterpolationFlags.Linear, BorderTypes.Constant, Scalar.All(1));
        using var f = new Mat();
        Cv2.Resize(coarse, f, roi.Size, 0, 0, InterpolationFlags.Linear);

        using var region = new Mat(output, roi);
        int w = roi.Width;
        byte* basePtr = (byte*)region.Data; long step = region.Step();
        float* fp = (float*)f.Data; long fstep = f.Step() / sizeof(float);
        Parallel.For(0, roi.Height, y =>
        {
            byte* row = basePtr + y * step; float* fr = fp + y * fstep;
            int x = VectorisedScale ? ScaleSpanAvx2(row, fr, w) : 0;
            for (; x < w; x++)
            {
                float k = fr[x];
                if (k == 1f) continue;
                byte* px = row + 3 * x;
                px[0] = Sat(px[0] * k); px[1] = Sat(px[1] * k); px[2] = Sat(px[2] * k);
            }
        });
    }

    /// <summary>The scalar loop's px = Sat(px * k) for the first pixels of a row of BGR bytes, eight at a time (the same
    /// arithmetic: the product rounded half up and clamped to 0..255, so the bytes are identical; eight factors of exactly
    /// 1 are skipped); returns where the scalar loop takes over.</summary>
    private static unsafe int ScaleSpanAvx2(byte* row, float* k, int w)
    {
        var one = Vector256.Create(1f); var half = Vector256.Create(0.5f);
        var zero = Vector256<int>.Zero; var top = Vector256.Create(255);
        // each pixel's factor for its three channels: lanes 0-7, 8-15 and 16-23 of the 24 bytes
        var i0 = Vector256.Create(0, 0, 0, 1, 1, 1, 2, 2); var i1 = Vector256.Create(2, 3, 3, 3, 4, 4, 4, 5); var i2 = Vector256.Create(5, 5, 6, 6, 6, 7, 7, 7);
        int x = 0;
        for (; x + 8 <= w; x += 8)
        {
            var f = Avx.LoadVector256(k + x);
            if (Avx.MoveMask(Avx.CompareNotEqual(f, one)) == 0) continue;
            byte* p = row + 3 * x;
            var a = Scale(Sse2.LoadScalarVector128((ulong*)p).AsByte(), Avx2.PermuteVar8x32(f, i0), half, zero, top);
            var b = Scale(Sse2.LoadScalarVector128((ulong*)(p + 8)).AsByte(), Avx2.PermuteVar8x32(f, i1), half, zero, top);
            var c = Scale(Sse2.LoadScalarVector128((ulong*)(p + 16)).AsByte(), Avx2.PermuteVar8x32(f, i2), half, zero, top);
            *(ulong*)p = Bytes(a); *(ulong*)(p + 8) = Bytes(b); *(ulong*)(p + 16) = Bytes(c);
        }
        return x;
    }

    /// <summary>Eight bytes widened, times the factors, rounded half up (truncating v + 0.5) and clamped to 0..255.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scale(Vector128<byte> px, Vector256<float> f, Vector256<float> half, Vector256<int> zero, Vector256<int> top)
    {
        var v = Avx.Multiply(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(px)), f);
        // capped before the conversion (which would wrap a huge product); min(cap, v) keeps a NaN, which ends as 0 as in Sat
        v = Avx.Min(Vector256.Create(256f), v);
        return Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32WithTruncation(Avx.Add(v, half)), zero), top);
    }

    /// <summary>Eight ints of 0..255 as eight bytes.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static ulong Bytes(Vector256<int> v)
    {
        var s = Sse2.PackSignedSaturate(v.GetLower(), v.GetUpper());
        return Sse2.PackUnsignedSaturate(s, s).AsUInt64().ToScalar();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static byte Sat(float v) => v >= 255f ? (byte)255 : v <= 0 ? (byte)0 : (byte)(v + 0.5f);

    public void Dispose()
    {
        _brightenRoom?.Dispose();
        _logNeutral.Dispose(); _staticGate.Dispose(); _neutralDark.Dispose(); _lowWeight.Dispose(); _lowWeightBlur.Dispose();
        _mapX.Dispose(); _mapY.Dispose(); _detail.Dispose(); _factor.Dispose();
    }
}
