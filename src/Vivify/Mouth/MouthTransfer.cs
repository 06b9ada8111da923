// MouthTransfer: fills the animated portrait's open mouth with the driver's mouth interior
// (teeth, tongue, the dark of the mouth), TECHNIQUE.md stage 5.
// Per frame: the driver's inner-lip polygon (points 60-67, grown a little) is warped piecewise
// affinely (a fan of triangles around its centre) onto the animated portrait's inner-lip polygon;
// its brightness is matched to the portrait by a gain measured on the lips around it
// (portrait's lips in the first frame, the driver's lips in this frame), smoothed over time; the
// mouth's shadow takes at most MaxGain of it, so a portrait with lighter lips lights up the teeth
// but not the dark of the mouth; and
// its lip-coloured pixels (lip edge, tongue: near the driver's lip colour, or of its hue at less chroma, being
// neither the mouth's shadow nor teeth) take the portrait's lip hue, and
// its teeth (pixels brighter than the portrait's lips and not lip-coloured) take the tint of the
// portrait's eye whites where those can be read (a driver filmed under warm light would otherwise
// give a neutral portrait yellow teeth);
// its colourfulness is brought down to the portrait's (skin around the mouth; a black-and-white
// portrait gets a grey interior); it
// is blended in with a feathered mask over the portrait's inner lips (grown by MaskGrow, so the
// lips' inner edge is the driver's, as the interior's own shading needs), weighted by how far the
// mouth has opened beyond the portrait's own opening (with hysteresis and fading). A portrait
// that shows its teeth (a smile parted by OwnTeethMinGap to OwnTeethMaxGap, teeth between its
// inner lips) keeps them: its own interior rides on the upper inner lip (a similarity of points
// 60-64), unstretched, over the driver's, with the same weight.
// Requires: 68-point landmarks for the driver frame and the output frame; BGR images.
// Guarantees: nothing outside the portrait's animated inner-lip polygon (grown by MaskGrow, then
// by three feather sigmas) changes; a mouth no wider open than the portrait's own leaves the frame untouched, bit for bit.
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;

namespace Vivify.Mouth;

public sealed class MouthTransfer
{
    private static readonly int[] Inner = [60, 61, 62, 63, 64, 65, 66, 67];
    private static readonly int[] OuterLips = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59];

    private readonly double _portraitGap;       // the portrait's own inner-lip gap, in IODs
    private readonly Scalar _portraitLipColour;
    private readonly (double L, double A, double B) _portraitLipLab;
    private readonly (double L, double A, double B) _portraitSkinLab;
    private readonly (double L, double A, double B)? _portraitEyeWhite;
    private double? _chromaScale;
    private double? _gain;
    private double _alpha;

    /// <summary>Gap (in IODs) beyond the portrait's own at which the interior starts to show, and is fully shown.
    /// A mouth parted a little shows its dark slit rather than the lips' meeting line stretched. Read back by our
    /// engine, 0.01-0.04 against 0.03-0.07: cap12_edit's 221 open-mouthed frames open 0.85 against 0.81 times the
    /// driver's on audrey (joconde 0.64 both, cage 0.95 both); on franck 20-30 s's speech the mouth's gain is
    /// audrey 0.417 against 0.423, cage 0.639 against 0.673.</summary>
    public double OpenStart { get; init; } = 0.01;
    public double OpenFull { get; init; } = 0.04;
    /// <summary>A gap (IODs) beyond the portrait's own from which the evaluations count a frame as open-mouthed.</summary>
    public const double OpenMouthGap = 0.07;
    /// <summary>An interior blended in at less than this cannot change a pixel by a grey level: it is not shown.</summary>
    public const double InvisibleAlpha = 1.0 / 255;
    /// <summary>Largest brightness gain on the mouth's shadow: interior pixels under 0.7 of the driver's lip
    /// luminance (teeth, 1.3 times as bright as the lips or brighter, take the whole lip gain; a ramp between).
    /// A portrait whose lips are lighter than the driver's (a varnished painting, pale lips) would otherwise get a
    /// lit-up, flat interior that reads as a tongue between closed lips rather than an open mouth.</summary>
    public double MaxGain { get; init; } = 1.0;
    /// <summary>Feather of the blend mask (Gaussian sigma) as a share of the mouth's width.</summary>
    public double Feather { get; init; } = 0.025;
    /// <summary>The blend mask: the output's inner-lip polygon grown by this factor about its centre.</summary>
    public double MaskGrow { get; init; } = 1.0;

    public MouthTransfer(Mat portrait, PointD[] portraitLandmarks)
    {
        _portraitGap = Gap(portraitLandmarks);
        _portraitLipColour = LipColour(portrait, portraitLandmarks);
        _portraitLipLab = Lab(_portraitLipColour);
        _portraitSkinLab = Lab(SkinColour(portrait, portraitLandmarks));
        _portraitEyeWhite = EyeWhite(portrait, portraitLandmarks, _portraitSkinLab);
        if (_portraitGap >= OwnTeethMinGap && _portraitGap <= OwnTeethMaxGap && InnerLipFit.TeethShare(portrait, portraitLandmarks) >= OwnTeethMinShare)
        {
            _portraitLandmarks = (PointD[])portraitLandmarks.Clone();
            var inner = Inner.Select(i => portraitLandmarks[i]).ToArray();
            _ownRect = Bounds(inner, portrait.Width, portrait.Height, pad: 2);
            if (_ownRect.Width >= 4 && _ownRect.Height >= 4) _ownTeeth = new Mat(portrait, _ownRect).Clone();
        }
    }

    /// <summary>A portrait whose own mouth parts by OwnTeethMinGap to OwnTeethMaxGap IODs (a smile showing its teeth) keeps
    /// them as the mouth opens wider: its interior rides on the upper lip, unstretched, over the driver's. A wider-open
    /// portrait's interior holds lower teeth and tongue too, which do not ride on the upper lip; it is left to the warp.</summary>
    public const double OwnTeethMinGap = 0.03, OwnTeethMaxGap = 0.15;
    /// <summary>...and only where at least this share of what shows between its inner lips is teeth (InnerLipFit's rule):
    /// the model also parts closed lips (the sample average faces: 0.095 IOD of lip), and a dark opening is the driver's to fill.</summary>
    public const double OwnTeethMinShare = 0.1;
    private readonly Mat? _ownTeeth;            // the portrait's pixels around its inner lips, when it shows its teeth
    private readonly Rect _ownRect;             // where they lie in the portrait
    private readonly PointD[]? _portraitLandmarks;
    private static readonly int[] UpperInner = [60, 61, 62, 63, 64];

    /// <summary>The portrait's eye whites as a tint reference for the teeth, or null where there is none to read.</summary>
    public (double L, double A, double B)? PortraitEyeWhite => _portraitEyeWhite;

    /// <summary>Share of a tooth's own tint (against the eye whites') it keeps: teeth are a little yellower than eye whites.</summary>
    public double TeethOwnTint { get; init; } = 0.35;

    /// <summary>
    /// The eye whites' colour (Lab): the lightest quarter of the pixels inside both eyes' landmark polygons. Only where it
    /// reads as white under the portrait's light: L 40 or more, at least about as light as the skin (5 L below it at most), and no more
    /// colourful. Sunglasses, eyes in shadow, a small or low-resolution face (a 400x300 video frame's eyes are a few
    /// dozen pixels of lashes and iris) and bright coloured irises fail that, and the teeth keep the driver's tint.
    /// </summary>
    private static (double L, double A, double B)? EyeWhite(Mat portrait, PointD[] l, (double L, double A, double B) skin)
    {
        var values = new List<Vec3f>();
        foreach (var eye in new[] { new[] { 36, 37, 38, 39, 40, 41 }, [42, 43, 44, 45, 46, 47] })
        {
            var poly = eye.Select(i => l[i]).ToArray();
            var roi = Bounds(poly, portrait.Width, portrait.Height, pad: 1);
            if (roi.Width < 2 || roi.Height < 2) return null;
            using var mask = new Mat(roi.Size, MatType.CV_8UC1, Scalar.All(0));
            Cv2.FillConvexPoly(mask, poly.Select(p => new Point((int)Math.Round(p.X - roi.X), (int)Math.Round(p.Y - roi.Y))).ToArray(), Scalar.All(255));
            using var sub = new Mat(portrait, roi);
            using var unit = new Mat();
            sub.ConvertTo(unit, MatType.CV_32FC3, 1.0 / 255);
            using var lab = new Mat();
            Cv2.CvtColor(unit, lab, ColorConversionCodes.BGR2Lab);
            for (int y = 0; y < roi.Height; y++)
                for (int x = 0; x < roi.Width; x++)
                    if (mask.At<byte>(y, x) != 0) values.Add(lab.At<Vec3f>(y, x));
        }
        if (values.Count < 40) return null;
        var top = values.OrderByDescending(v => v.Item0).Take(values.Count / 4).ToList();
        double L = top.Average(v => v.Item0), a = top.Average(v => v.Item1), b = top.Average(v => v.Item2);
        bool white = L >= 40 && L >= skin.L - 5 && Math.Sqrt(a * a + b * b) <= Math.Sqrt(skin.A * skin.A + skin.B * skin.B);
        return white ? (L, a, b) : null;
    }

    /// <summary>Inner-lip gap over the inter-ocular distance (mean of the three facing pairs).</summary>
    public static double Gap(PointD[] l)
    {
        double g = (PointD.Distance(l[61], l[67]) + PointD.Distance(l[62], l[66]) + PointD.Distance(l[63], l[65])) / 3;
        return g / FaceLandmarks.InterOcularDistance(l);
    }

    /// <summary>How much of the driver's interior is shown for this frame (0..1), after hysteresis and fading.</summary>
    public double LastAlpha => _alpha;

    public void Apply(Mat output, PointD[] outputLandmarks, Mat driver, PointD[] driverLandmarks)
    {
        double open = Gap(outputLandmarks) - _portraitGap;
        double target = Math.Clamp((open - OpenStart) / (OpenFull - OpenStart), 0, 1);
        target = target * target * (3 - 2 * target);
        // fade in quickly, out a little slower: no popping, no flicker around the threshold
        _alpha += (target > _alpha ? 0.6 : 0.4) * (target - _alpha);
        // nothing shown: a faded-out interior, or one too faint to move any pixel by a grey level (the landmarks of a
        // closed mouth wobble by about OpenStart from frame to frame, and a frame just past it asks for a trace)
        if ((_alpha < 0.02 && target == 0) || _alpha < InvisibleAlpha) { _alpha = 0; return; }

        var dst = Grow(Inner.Select(i => outputLandmarks[i]).ToArray(), 1.08);
        var src = Grow(Inner.Select(i => driverLandmarks[i]).ToArray(), 1.08);
        double mouthW = PointD.Distance(outputLandmarks[60], outputLandmarks[64]);
        double feather = Math.Max(1.0, mouthW * Feather);
        var roi = Bounds(dst, output.Width, output.Height, pad: (int)Math.Ceiling(3 * feather) + 2);
        if (roi.Width < 4 || roi.Height < 4) return;

        // warp the driver's interior into the output ROI, triangle by triangle (a fan around the centre). The
        // feathered blend mask reaches a few pixels beyond the fan (much more than the 8 % growth across a narrow
        // opening), so each triangle's affine map also fills a band around it (drawn first, under the exact
        // triangles): no uncovered, black pixel is blended in as a dark, jagged outline.
        using var warped = new Mat(roi.Size, MatType.CV_8UC3, Scalar.All(0));
        using var around = new Mat(roi.Size, MatType.CV_8UC3, Scalar.All(0));
        using var covered = new Mat(roi.Size, MatType.CV_8UC1, Scalar.All(0));
        int band = 2 * ((int)Math.Ceiling(3 * feather) + 2) + 1;
        var cd = Centre(dst); var cs = Centre(src);
        for (int k = 0; k < dst.Length; k++)
        {
            int k2 = (k + 1) % dst.Length;
            var d = new[] { cd, dst[k], dst[k2] }.Select(p => new Point2f((float)(p.X - roi.X), (float)(p.Y - roi.Y))).ToArray();
            var s = new[] { cs, src[k], src[k2] }.Select(p => new Point2f((float)p.X, (float)p.Y)).ToArray();
            if (Math.Abs(Cross(d[0], d[1], d[2])) < 0.5 || Math.Abs(Cross(s[0], s[1], s[2])) < 0.5) continue;
            using var m = Cv2.GetAffineTransform(s, d);
            using var tri = new Mat();
            Cv2.WarpAffine(driver, tri, m, roi.Size, InterpolationFlags.Linear, BorderTypes.Replicate);
            var corners = d.Select(p => new Point((int)Math.Round(p.X), (int)Math.Round(p.Y))).ToArray();
            using var triMask = new Mat(roi.Size, MatType.CV_8UC1, Scalar.All(0));
            Cv2.FillConvexPoly(triMask, corners, Scalar.All(255), LineTypes.Link8);
            using var bandMask = triMask.Clone();
            Cv2.Polylines(bandMask, [corners], true, Scalar.All(255), band, LineTypes.Link8);
            tri.CopyTo(around, bandMask);
            tri.CopyTo(warped, triMask);
            covered.SetTo(Scalar.All(255), triMask);
        }
        using (var uncovered = new Mat())
        {
            Cv2.BitwiseNot(covered, uncovered);
            around.CopyTo(warped, uncovered);
        }

        // brightness: the driver's lips in this frame against the portrait's lips, smoothed over time; one gain for
        // all channels (per-channel lip ratios would tint the teeth with the lips' hue). The mouth's shadow takes
        // at most MaxGain, the teeth (brighter than the driver's lips) the whole gain, a ramp between.
        var drvLips = LipColour(driver, driverLandmarks);
        double drvLipLuma = Luma(drvLips);
        double y = Ratio(Luma(_portraitLipColour), drvLipLuma);
        _gain = _gain is { } old ? old + 0.2 * (y - old) : y;
        using var gained = new Mat();
        warped.ConvertTo(gained, MatType.CV_32FC3);
        ApplyGain(gained, _gain.Value, Math.Min(_gain.Value, MaxGain), drvLipLuma);
        // colourfulness: the skin around the mouth, portrait's against driver's (a black-and-white or
        // faded photograph gets an interior as grey or as faded as its own skin), smoothed over time
        var (_, dsa, dsb) = Lab(SkinColour(driver, driverLandmarks));
        double colourful = Math.Clamp(Math.Sqrt(_portraitSkinLab.A * _portraitSkinLab.A + _portraitSkinLab.B * _portraitSkinLab.B)
                              / Math.Max(1e-6, Math.Sqrt(dsa * dsa + dsb * dsb)), 0, 1);
        _chromaScale = _chromaScale is { } oldK ? oldK + 0.2 * (colourful - oldK) : colourful;
        MatchColour(gained, drvLips, _chromaScale.Value);

        // feathered mask inside the portrait's inner lips
        using var mask = new Mat(roi.Size, MatType.CV_8UC1, Scalar.All(0));
        var inner = SubPixel(Grow(Inner.Select(i => outputLandmarks[i]).ToArray(), MaskGrow), roi);
        Cv2.FillPoly(mask, [inner], Scalar.All(255), LineTypes.AntiAlias, 4);
        using var maskF = new Mat();
        mask.ConvertTo(maskF, MatType.CV_32FC1, _alpha / 255.0);
        Cv2.GaussianBlur(maskF, maskF, new Size(0, 0), feather);
        using (var region = new Mat(output, roi)) BlendInto(region, gained, maskF);
        if (_ownTeeth is not null) OverlayOwnTeeth(output, outputLandmarks, roi, feather);
    }

    /// <summary>
    /// The portrait's own interior (its teeth), moved with the upper inner lip and its corners by a similarity and so not
    /// stretched, laid over the driver's interior inside the output's inner lips, weighted like the interior (LastAlpha).
    /// </summary>
    private void OverlayOwnTeeth(Mat output, PointD[] outputLandmarks, Rect roi, double feather)
    {
        var sim = Similarity.Fit(_portraitLandmarks!, outputLandmarks, UpperInner);
        // portrait crop -> output ROI
        using var m = new Mat(2, 3, MatType.CV_64FC1);
        m.Set(0, 0, sim.A); m.Set(0, 1, -sim.B); m.Set(0, 2, sim.A * _ownRect.X - sim.B * _ownRect.Y + sim.Tx - roi.X);
        m.Set(1, 0, sim.B); m.Set(1, 1, sim.A); m.Set(1, 2, sim.B * _ownRect.X + sim.A * _ownRect.Y + sim.Ty - roi.Y);
        using var teeth = new Mat();
        Cv2.WarpAffine(_ownTeeth!, teeth, m, roi.Size, InterpolationFlags.Linear, BorderTypes.Replicate);
        // where: the portrait's inner lips carried along, inside the output's
        using var own = new Mat(roi.Size, MatType.CV_8UC1, Scalar.All(0));
        Cv2.FillPoly(own, [SubPixel(Inner.Select(i => sim.Apply(_portraitLandmarks![i])), roi)], Scalar.All(255), LineTypes.AntiAlias, 4);
        using var inside = new Mat(roi.Size, MatType.CV_8UC1, Scalar.All(0));
        Cv2.FillPoly(inside, [SubPixel(Inner.Select(i => outputLandmarks[i]), roi)], Scalar.All(255), LineTypes.AntiAlias, 4);
        Cv2.Min(own, inside, own);
        using var maskF = new Mat();
        own.ConvertTo(maskF, MatType.CV_32FC1, _alpha / 255.0);
        Cv2.GaussianBlur(maskF, maskF, new Size(0, 0), Math.Max(0.5, 0.5 * feather));
        using var region = new Mat(output, roi);
        BlendInto(region, teeth, maskF);
    }

    /// <summary>Polygon vertices relative to the ROI in 1/16 pixels, for FillPoly with shift 4 (antialiased edges).</summary>
    private static Point[] SubPixel(IEnumerable<PointD> pts, Rect roi) =>
        pts.Select(p => new Point((int)Math.Round((p.X - roi.X) * 16), (int)Math.Round((p.Y - roi.Y) * 16))).ToArray();

    /// <summary>
    /// region = src w + region (1 - w), in place; src 8-bit or float (the region is taken to its type for the blend), w
    /// CV_32FC1. With Cv2.BlendLinear: matrix-expression temporaries would hold native memory until finalised.
    /// </summary>
    private static void BlendInto(Mat region, Mat src, Mat weight)
    {
        using var inv = new Mat();
        Cv2.Subtract(new Scalar(1.0), weight, inv);
        using var under = new Mat();
        region.ConvertTo(under, src.Type());
        using var blended = new Mat();
        Cv2.BlendLinear(src, under, weight, inv, blended);
        blended.ConvertTo(region, region.Type());
    }

    /// <summary>Multiplies each pixel by a gain that ramps with its luminance from <paramref name="shadowGain"/>
    /// (at 0.7 of the driver's lip luminance and below: the mouth's shadow, the tongue in it) to <paramref name="gain"/>
    /// (at 1.3 times the lip luminance and above: teeth).</summary>
    private static void ApplyGain(Mat bgr, double gain, double shadowGain, double driverLipLuma)
    {
        if (gain == shadowGain) { bgr.ConvertTo(bgr, MatType.CV_32FC3, gain); return; }
        var px = bgr.AsSpan<float>();      // continuous: B G R per pixel
        float lo = (float)(0.7 * driverLipLuma), span = (float)Math.Max(1, 0.6 * driverLipLuma);
        float g1 = (float)gain, g0 = (float)shadowGain;
        for (int i = 0; i + 2 < px.Length; i += 3)
        {
            float t = Math.Clamp((0.114f * px[i] + 0.587f * px[i + 1] + 0.299f * px[i + 2] - lo) / span, 0, 1); // Luma's weights
            float k = g0 + (g1 - g0) * t * t * (3 - 2 * t);
            px[i] *= k; px[i + 1] *= k; px[i + 2] *= k;
        }
    }

    /// <summary>
    /// Pixels of the transferred interior coloured like the driver's lips (its lip edge, the
    /// tongue) take the portrait's lip hue: their Lab chroma moves by the difference of the two
    /// lips' chroma, weighted by how close to the driver's lip chroma they are, or, where more, by how close their hue
    /// is to the lips' (Gaussian, 20 degrees) at a quarter to a half of the lips' chroma and more, from 0.35 to 0.55 of
    /// the portrait's lip lightness up to that lightness (the tongue: joconde's went from pink-magenta to her palette's
    /// warm pink; the teeth as before, the mouth's shadow within a grey level); the dark of the
    /// mouth (far from it) keeps its own. Teeth (lighter than the portrait's lips, not lip-coloured)
    /// take the portrait's eye-white tint plus TeethOwnTint of their own difference from it, where
    /// the portrait's eye whites can be read (else they keep theirs). Then all chroma is scaled by <paramref name="chromaScale"/>
    /// (the portrait's skin colourfulness over the driver's, at most 1) towards the portrait's skin
    /// tint, so a black-and-white portrait gets a grey interior and a sepia one a sepia interior.
    /// Lightness is untouched.
    /// </summary>
    private void MatchColour(Mat bgr255, Scalar driverLips, double chromaScale)
    {
        var (_, da, db) = Lab(driverLips); var (pl, pa, pb) = _portraitLipLab;
        double sa = pa - da, sb = pb - db;
        bool shift = Math.Abs(sa) >= 1 || Math.Abs(sb) >= 1, scale = chromaScale < 0.999, whiten = _portraitEyeWhite is not null;
        if (!shift && !scale && !whiten) return;
        var (_, wa, wb) = _portraitEyeWhite ?? default;
        float keep = (float)TeethOwnTint, lipL = (float)pl;
        using var unit = new Mat();
        bgr255.ConvertTo(unit, MatType.CV_32FC3, 1.0 / 255);
        using var lab = new Mat();
        Cv2.CvtColor(unit, lab, ColorConversionCodes.BGR2Lab);
        var px = lab.AsSpan<float>();       // continuous: L a b per pixel
        const float sigma2 = 2 * 10f * 10f;
        // the tongue: a lip's hue (within about 20 degrees) at less of its chroma, which the ab distance alone misses
        float lipHue = MathF.Atan2((float)db, (float)da), lipChroma = MathF.Sqrt((float)(da * da + db * db));
        const float hueSigma2 = 2 * 0.35f * 0.35f;
        float k = (float)chromaScale, ta = (float)((1 - chromaScale) * _portraitSkinLab.A), tb = (float)((1 - chromaScale) * _portraitSkinLab.B);
        for (int i = 0; i + 2 < px.Length; i += 3)
        {
            float ea = px[i + 1] - (float)da, eb = px[i + 2] - (float)db;
            float w = MathF.Exp(-(ea * ea + eb * eb) / sigma2);        // how lip-coloured the pixel is
            // how much of a tooth: lighter than the portrait's lips (fully 15 L above them)
            float t = Math.Clamp((px[i] - lipL) / 15f, 0, 1);
            float hueW = 0;                                              // the hue shift's weight
            if (shift)
            {
                float dh = MathF.Atan2(px[i + 2], px[i + 1]) - lipHue;
                if (dh > MathF.PI) dh -= 2 * MathF.PI; else if (dh < -MathF.PI) dh += 2 * MathF.PI;
                float c = Math.Clamp((MathF.Sqrt(px[i + 1] * px[i + 1] + px[i + 2] * px[i + 2]) - 0.25f * lipChroma) / (0.25f * lipChroma + 1e-3f), 0, 1);
                // ...neither in the mouth's shadow (darker than about 0.45 of the portrait's lips) nor a tooth, whose
                // colours stay their own
                float l = Math.Clamp((px[i] - 0.35f * lipL) / (0.2f * lipL + 1e-3f), 0, 1);
                hueW = Math.Max(w, MathF.Exp(-dh * dh / hueSigma2) * c * c * (3 - 2 * c) * l * l * (3 - 2 * l) * (1 - t));
            }
            if (whiten)
            {
                // teeth: lighter than the portrait's lips and not lip-coloured
                float tw = t * t * (3 - 2 * t) * (1 - w);
                px[i + 1] += tw * ((float)wa + keep * (px[i + 1] - (float)wa) - px[i + 1]);
                px[i + 2] += tw * ((float)wb + keep * (px[i + 2] - (float)wb) - px[i + 2]);
            }
            if (shift) { px[i + 1] += hueW * (float)sa; px[i + 2] += hueW * (float)sb; }
            if (scale) { px[i + 1] = k * px[i + 1] + ta; px[i + 2] = k * px[i + 2] + tb; }
        }
        Cv2.CvtColor(lab, unit, ColorConversionCodes.Lab2BGR);
        unit.ConvertTo(bgr255, MatType.CV_32FC3, 255);
    }

    private static (double L, double A, double B) Lab(Scalar bgr)
    {
        using var m = new Mat(1, 1, MatType.CV_32FC3, new Scalar(bgr.Val0 / 255, bgr.Val1 / 255, bgr.Val2 / 255));
        using var lab = new Mat();
        Cv2.CvtColor(m, lab, ColorConversionCodes.BGR2Lab);
        var v = lab.At<Vec3f>(0, 0);
        return (v.Item0, v.Item1, v.Item2);
    }

    private static double Ratio(double a, double b) => Math.Clamp((a + 1) / (b + 1), 0.6, 1.6);
    private static double Luma(Scalar bgr) => 0.114 * bgr.Val0 + 0.587 * bgr.Val1 + 0.299 * bgr.Val2;

    /// <summary>Mean colour of the lips: between the outer and inner lip contours.</summary>
    private static Scalar LipColour(Mat img, PointD[] l) =>
        MeanBetween(img, [.. OuterLips.Select(i => l[i])], [.. Inner.Select(i => l[i])]);

    /// <summary>Mean colour of the skin around the mouth: a ring from 1.15 to 1.5 times the outer lips' size about their centre.</summary>
    private static Scalar SkinColour(Mat img, PointD[] l)
    {
        var outer = OuterLips.Select(i => l[i]).ToArray();
        return MeanBetween(img, Grow(outer, 1.5), Grow(outer, 1.15));
    }

    /// <summary>Mean colour inside polygon <paramref name="outer"/> and outside <paramref name="hole"/> (all of the outer polygon's box if that is empty).</summary>
    private static Scalar MeanBetween(Mat img, PointD[] outer, PointD[] hole)
    {
        var roi = Bounds(outer, img.Width, img.Height, pad: 1);
        if (roi.Width < 2 || roi.Height < 2) return Scalar.All(128);
        using var mask = new Mat(roi.Size, MatType.CV_8UC1, Scalar.All(0));
        Cv2.FillPoly(mask, [outer.Select(p => new Point((int)(p.X - roi.X), (int)(p.Y - roi.Y))).ToArray()], Scalar.All(255));
        Cv2.FillPoly(mask, [hole.Select(p => new Point((int)(p.X - roi.X), (int)(p.Y - roi.Y))).ToArray()], Scalar.All(0));
        using var sub = new Mat(img, roi);
        return Cv2.CountNonZero(mask) > 0 ? Cv2.Mean(sub, mask) : Cv2.Mean(sub);
    }

    private static PointD Centre(PointD[] p) => FaceLandmarks.Mean(p);

    private static PointD[] Grow(PointD[] p, double f)
    {
        var c = Centre(p);
        return p.Select(q => c + f * (q - c)).ToArray();
    }

    private static Rect Bounds(PointD[] p, int w, int h, int pad)
    {
        int x0 = (int)Math.Floor(p.Min(q => q.X)) - pad, y0 = (int)Math.Floor(p.Min(q => q.Y)) - pad;
        int x1 = (int)Math.Ceiling(p.Max(q => q.X)) + pad, y1 = (int)Math.Ceiling(p.Max(q => q.Y)) + pad;
        return new Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1).Intersect(new Rect(0, 0, w, h));
    }

    private static double Cross(Point2f a, Point2f b, Point2f c) => (b.X - a.X) * (c.Y - a.Y) - (b.Y - a.Y) * (c.X - a.X);
}
