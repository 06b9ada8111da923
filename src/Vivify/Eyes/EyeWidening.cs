// EyeWidening: an eye that opens wider than the portrait's shows more of a round eyeball (the white
// above the iris) instead of a stretched one.
// The warp maps each eye's six landmarks exactly, so when the driver widens its eyes (surprise,
// fear) the portrait's whole eye is stretched: the iris grows into a tall oval and the lids' dark
// margin is drawn out with it. A real lid slides off a round eyeball and shows what it hid. From
// the portrait, once, per eye: the iris (a circle through the visible edges of the dark run around
// the darkest columns of the opening, its radius kept between MinIrisShare and MaxIrisShare of the
// eye's width), the upper lid's margin per column (liner, lashes: beside the iris, from the lid's
// landmarks past the column's darkest row to where it has come MarginRecovery of the way back to
// its lightest; over the iris the thinner of the sides', ending above a catchlight), and the
// white and the iris as the row under that margin shows them (elsewhere from their neighbours).
// Both eyes are modelled or neither, and only where each circle explains its eye (MinAgreeIn of
// the visible pixels inside it dark, MinAgreeOut of those outside it light): a light iris, a large
// catchlight or a skin-coloured white leave the eyes to the warp. Per frame and per eye, where the
// animated eye opens more than the portrait's, the opening is redrawn through the similarity that
// takes the animated eye corners onto the portrait's (the eyeball moves with the head,
// unstretched), per column of the portrait's eye frame:
// - under the upper lid, its margin rises with the lid;
// - below it, as far as the lid rose there, the eyeball the lid hid: the iris's colour inside the
//   circle, the white's outside, shaded darker towards the lid (ShadowShare, ShadowDepth), blended
//   into the bands around it (BlendShare) and softened over a pixel (SoftenPx);
// - below that, the portrait's own eyeball where it was, its lower half stretched down to a lower
//   lid that came down.
// Samples move from the warp's towards these by a weight rising with the widening (none up to
// WideShare wider than the portrait's opening, in full from FullShare wider); each redrawn pixel is
// laid over the warp's by how much of it lies inside the opening and how far its sample moved (in
// full from half of EyelidClosure.NoticedShiftPx), so a barely moved sample keeps the warp's pixel.
// Requires: the portrait (BGR) and its 68 landmarks; per frame the animated landmarks, the warp's
// CV_32FC1 maps and the frame the warp resampled through them.
// Guarantees: an eye less than WideShare wider than the portrait's, or a portrait whose eyes are
// not modelled (MinEyeWidthPx, MinContrast, the agreement above), leaves the frame untouched; only
// pixels inside the animated eye's opening (and the pixel across its edge) change; the change is
// continuous in the landmarks (no pop as the eye starts to widen or the lid to rise).
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using static Vivify.Eyes.EyeFrame;

namespace Vivify.Eyes;

public sealed class EyeWidening
{
    /// <summary>Widening (opening over the portrait's, less 1) under this is the landmarks' noise: the eye is left alone.</summary>
    public const double WideShare = 0.05;
    /// <summary>Widening from which the eyeball is redrawn in full.</summary>
    public const double FullShare = 0.25;
    /// <summary>The upper lid's margin inside the opening (liner, lashes, the lid's edge), as a share of the eye's width: measured
    /// per column beside the iris (at most MaxMarginShare), MarginShare where it cannot be (and no side was measured).</summary>
    public const double MarginShare = 0.03, MaxMarginShare = 0.12;
    /// <summary>The margin ends where a column under the lid has come this share of the way back up from its darkest row (the
    /// lashes, the liner) to its lightest below (the white, shaded under the lid as it may be).</summary>
    public const double MarginRecovery = 0.3;
    /// <summary>The revealed eyeball blends into the bands around it over this share of the eye's width.</summary>
    public const double BlendShare = 0.03;
    /// <summary>The white must be at least this much lighter than the iris (grey levels) for the eye to be modelled.</summary>
    public const double MinContrast = 20;
    /// <summary>The iris's radius, as a share of the eye's width, is kept between these (a person's iris is about 0.4 of the
    /// eye's width across; a light iris's darkest columns are its pupil alone).</summary>
    public const double MinIrisShare = 0.19, MaxIrisShare = 0.26;
    /// <summary>The revealed eyeball is softened by a Gaussian of this sigma (pixels): its colours meet at hard edges.</summary>
    public const double SoftenPx = 0.7;
    /// <summary>How far below the upper lid its shadow on the revealed white reaches (share of the eye's width), and how dark
    /// it is right under the lid (share of the colour taken away).</summary>
    public const double ShadowShare = 0.15, ShadowDepth = 0.25;
    /// <summary>The fitted iris must explain the eye: at least this share of the visible pixels inside its circle dark (under the
    /// threshold halfway from iris to white), and at least MinAgreeOut of those outside it light. On the samples: audrey 0.99, a
    /// large catchlight (obama4_crop) 0.92, a light hazel iris (cage) 0.69-0.75; outside, audrey 0.90-0.98, joconde's shaded
    /// right eye 0.58 and joconde_crop's 0.67 (their skin-coloured white was drawn as a bright line under the lid), vendetta's
    /// mask 0.58, kim1_crop 0.68.</summary>
    public const double MinAgreeIn = 0.95, MinAgreeOut = 0.7;
    /// <summary>Eyes narrower than this (portrait pixels, corner to corner) are left to the warp.</summary>
    public const double MinEyeWidthPx = 12;

    private readonly PointD[] _portrait;
    private readonly double[] _opening;
    private EyeModel?[] _models;

    public EyeWidening(Mat portrait, ReadOnlySpan<PointD> portraitLandmarks)
    {
        _portrait = portraitLandmarks[..68].ToArray();
        _opening = [FaceLandmarks.EyeAspectRatio(_portrait, 0), FaceLandmarks.EyeAspectRatio(_portrait, 1)];
        using var grey = portrait.Channels() == 1 ? portrait.Clone() : portrait.CvtColor(ColorConversionCodes.BGR2GRAY);
        _models = [.. EyelidClosure.EyeIndices.Select(idx => EyeModel.Fit(portrait, grey, _portrait, idx))];
        // both eyes or neither (one round and one stretched eye would look odd), and only circles that explain what the
        // eye shows: a light iris, a large catchlight, landmarks off the lids or a misfitted circle leave the eyes to the warp
        if (_models.Any(m => m is null || m.AgreeIn < MinAgreeIn || m.AgreeOut < MinAgreeOut)) _models = [null, null];
    }

    /// <summary>The portrait's eye <paramref name="eye"/> as modelled (null: left to the warp).</summary>
    public EyeModel? Model(int eye) => _models[eye];

    /// <summary>How much wider eye <paramref name="eye"/> opens in <paramref name="current"/> than the portrait's (0 when no wider).</summary>
    public double Widening(ReadOnlySpan<PointD> current, int eye) =>
        _opening[eye] <= 1e-6 ? 0 : Math.Max(0, FaceLandmarks.EyeAspectRatio(current, eye) / _opening[eye] - 1);

    /// <summary>The weight of the change for a widening: smoothstep from <see cref="WideShare"/> to <see cref="FullShare"/>.</summary>
    public static double Weight(double widening)
    {
        double t = Math.Clamp((widening - WideShare) / (FullShare - WideShare), 0, 1);
        return t * t * (3 - 2 * t);
    }

    /// <summary>How many eyes the last Apply redrew (0-2).</summary>
    public int LastRedrawnEyes { get; private set; }

    /// <summary>
    /// Redraws each animated eye that opens wider than the portrait's in <paramref name="output"/>, the frame the warp made
    /// from <paramref name="portrait"/> through <paramref name="mapX"/>, <paramref name="mapY"/> (which are not changed).
    /// </summary>
    public void Apply(Mat portrait, Mat mapX, Mat mapY, ReadOnlySpan<PointD> current, Mat output)
    {
        if (mapX.Type() != MatType.CV_32FC1 || mapY.Type() != MatType.CV_32FC1) throw new ArgumentException("maps must be CV_32FC1");
        int redrawn = 0;
        for (int e = 0; e < _models.Length; e++)
        {
            if (_models[e] is not { } model) continue;
            double weight = Weight(Widening(current, e));
            if (weight <= 0) continue;
            var idx = EyelidClosure.EyeIndices[e];
            var poly = new PointD[idx.Length];
            for (int k = 0; k < idx.Length; k++) poly[k] = current[idx[k]];
            if (Redraw(model, poly, weight, portrait, mapX, mapY, output)) redrawn++;
        }
        LastRedrawnEyes = redrawn;
    }

    private static unsafe bool Redraw(EyeModel m, PointD[] poly, double weight, Mat portrait, Mat mapX, Mat mapY, Mat output)
    {
        // the similarity taking the animated corners onto the portrait's, and the animated lids in the portrait's eye frame
        if (m.EyeFrame.From(poly[0], poly[3]) is not { } sim) return false;
        var (upH, upC, loH, loC) = m.EyeFrame.Lids(k => sim.ToPortrait(poly[k].X, poly[k].Y));
        int x0 = Math.Max(0, (int)Math.Floor(poly.Min(q => q.X)) - 1), x1 = Math.Min(output.Width - 1, (int)Math.Ceiling(poly.Max(q => q.X)) + 1);
        int y0 = Math.Max(0, (int)Math.Floor(poly.Min(q => q.Y)) - 1), y1 = Math.Min(output.Height - 1, (int)Math.Ceiling(poly.Max(q => q.Y)) + 1);
        if (x1 < x0 || y1 < y0) return false;
        var box = new Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
        int bw = box.Width, bh = box.Height;
        using var px = new Mat(bh, bw, MatType.CV_32FC1);
        using var py = new Mat(bh, bw, MatType.CV_32FC1);
        var cover = new float[bw * bh];                 // how much of the redraw is laid over the warp's pixel
        var model = new float[bw * bh];                 // how much of the revealed eyeball is drawn
        var colour = new Vec3f[bw * bh];                // its colour
        double w = m.Width, blend = Math.Max(0.5, BlendShare * w);
        bool any = false;
        for (int y = 0; y < bh; y++)
        {
            float* mx = (float*)mapX.Ptr(box.Y + y), my = (float*)mapY.Ptr(box.Y + y);
            float* ox = (float*)px.Ptr(y), oy = (float*)py.Ptr(y);
            for (int x = 0; x < bw; x++)
            {
                int k = y * bw + x;
                double wx = mx[box.X + x], wy = my[box.X + x];
                ox[x] = (float)wx; oy[x] = (float)wy;
                double inside = InsideDistance(poly, box.X + x, box.Y + y);
                double cov = Math.Clamp(inside + 0.5, 0, 1);
                if (cov <= 0) continue;
                var s = sim.ToPortrait(box.X + x, box.Y + y);
                var (h, v) = m.Frame(s);
                if (h <= 0 || h >= w) continue;
                double upP = Along(m.UpperH, m.UpperV, h), loP = Along(m.LowerH, m.LowerV, h), margin = m.Margin(h);
                double upA = Along(upH, upC, h), loA = Along(loH, loC, h);
                double rise = Math.Max(0, upA - upP), drop = Math.Max(0, loP - loA);
                double below = upA - v;        // depth under the animated upper lid
                double vs = v, hidden = 0;
                if (below < margin) vs = v - rise;                              // the upper margin rises with the lid
                else if (rise > 0 && below < margin + rise) hidden = Math.Clamp(rise / blend, 0, 1);    // what the lid hid
                // under the iris's centre the eyeball stretches down to a lower lid that came down (a lower lid moves little,
                // and the white under the iris is smooth); above it, it stays where it was
                double vc = m.IrisV;
                if (drop > 0 && v < vc && below >= margin && loA < vc - 1 && vc > loP)
                    vs = loP + (v - loA) * (vc - loP) / (vc - loA);
                // soften the revealed band's edges
                if (rise > 0 && below >= margin - blend && below < margin + rise + blend)
                    hidden = Math.Max(hidden, Ramp(below, margin, rise, blend));
                var src = m.FromFrame(h, vs);
                ox[x] = (float)(wx + weight * (src.X - wx)); oy[x] = (float)(wy + weight * (src.Y - wy));
                // laid over the warp's pixel inside the opening, as far as its sample moved (a sample moved by a small
                // fraction of a pixel keeps the warp's own: the resampling rounds positions to 1/32 px)
                double moved = weight * Math.Sqrt((src.X - wx) * (src.X - wx) + (src.Y - wy) * (src.Y - wy));
                cover[k] = (float)(cov * Math.Min(1, Math.Max(2 * moved / EyelidClosure.NoticedShiftPx, weight * hidden)));
                if (hidden > 0)
                {
                    model[k] = (float)(weight * hidden);
                    colour[k] = m.Revealed(h, v, below);
                }
                any = true;
            }
        }
        if (!any) return false;
        using var patch = new Mat();
        Cv2.Remap(portrait, patch, px, py, InterpolationFlags.Linear, BorderTypes.Replicate);
        // the revealed eyeball, drawn in its colours over the resampled patch
        int channels = output.Channels();
        using var revealed = patch.Clone();
        using var band = new Mat(bh, bw, MatType.CV_8UC1, Scalar.All(0));
        for (int y = 0; y < bh; y++)
        {
            byte* r = (byte*)revealed.Ptr(y), wm = (byte*)band.Ptr(y);
            for (int x = 0; x < bw; x++)
            {
                int k = y * bw + x;
                if (model[k] <= 0 || cover[k] <= 0) continue;
                wm[x] = 255;
                for (int c = 0; c < channels; c++) r[x * channels + c] = (byte)Math.Clamp(Math.Round(colour[k][Math.Min(c, 2)]), 0, 255);
            }
        }
        // softened over a pixel, within the revealed band (its model's colours meet at hard edges)
        using (var soft = new Mat())
        {
            Cv2.GaussianBlur(revealed, soft, new Size(0, 0), SoftenPx);
            soft.CopyTo(revealed, band);
        }
        using var dst = new Mat(output, box);
        for (int y = 0; y < bh; y++)
        {
            byte* d = (byte*)dst.Ptr(y), p = (byte*)patch.Ptr(y), r = (byte*)revealed.Ptr(y);
            for (int x = 0; x < bw; x++)
            {
                int k = y * bw + x;
                double a = cover[k];
                if (a <= 0) continue;
                double t = model[k];
                for (int c = 0; c < channels; c++)
                {
                    double redrawn = p[x * channels + c] + t * (r[x * channels + c] - p[x * channels + c]);
                    d[x * channels + c] = (byte)Math.Clamp(Math.Round(d[x * channels + c] + a * (redrawn - d[x * channels + c])), 0, 255);
                }
            }
        }
        return true;
    }

    /// <summary>1 inside the revealed band [start, start + size) of a column, falling to 0 over <paramref name="blend"/> beyond its
    /// edges; a band thinner than <paramref name="blend"/> at most its share of it (no band at all where the lid did not rise).</summary>
    private static double Ramp(double d, double start, double size, double blend)
    {
        double inFrom = Math.Clamp((d - (start - blend)) / blend, 0, 1), inTo = Math.Clamp((start + size + blend - d) / blend, 0, 1);
        return Math.Min(inFrom, inTo) * Math.Clamp(size / blend, 0, 1);
    }

    /// <summary>One of the portrait's eyes: its frame (along the corners, h; up, v; portrait pixels), lids, iris and colours.</summary>
    public sealed class EyeModel
    {
        internal EyeFrame EyeFrame { get; private init; } = null!;
        /// <summary>Corner to corner, portrait pixels.</summary>
        public double Width => EyeFrame.Width;
        /// <summary>The iris: centre in the eye frame (h along the corners from Corner0, v up) and radius (portrait pixels).</summary>
        public double IrisH { get; private init; }
        public double IrisV { get; private init; }
        public double IrisRadius { get; private init; }
        /// <summary>Mean BGR of the white and of the iris's outer ring, as the portrait shows them.</summary>
        public Vec3f White { get; private init; }
        public Vec3f Iris { get; private init; }
        /// <summary>Grey level halfway between the iris's darkest columns and the white.</summary>
        public double Threshold { get; private init; }
        /// <summary>Share of the visible pixels inside the iris's circle that are dark, and outside it (in the opening) light.</summary>
        public double AgreeIn { get; private init; }
        public double AgreeOut { get; private init; }
        /// <summary>The upper lid's margin inside the opening (liner, lashes, the lid's edge) per half pixel along the eye.</summary>
        private double[] _margins = [];
        private double[][] _whites = [], _irises = [];
        internal double[] UpperH { get; private set; } = [];
        internal double[] UpperV { get; private set; } = [];
        internal double[] LowerH { get; private set; } = [];
        internal double[] LowerV { get; private set; } = [];

        /// <summary>The white in the row under the lid's margin at <paramref name="h"/> (between the sides of the iris, and where
        /// that row is not white, from the white beside it).</summary>
        internal Vec3f WhiteAt(double h)
        {
            if (_whites.Length == 0) return White;
            int c = Math.Clamp((int)Math.Round(h / 0.5), 0, _whites[0].Length - 1);
            return new Vec3f((float)_whites[0][c], (float)_whites[1][c], (float)_whites[2][c]);
        }

        /// <summary>The iris in the row under the lid's margin at <paramref name="h"/> (where that row is iris of the iris's own
        /// shade: not liner, nor a catchlight; elsewhere from its neighbours, or the ring's mean colour).</summary>
        internal Vec3f IrisAt(double h)
        {
            if (_irises.Length == 0) return Iris;
            int c = Math.Clamp((int)Math.Round(h / 0.5), 0, _irises[0].Length - 1);
            return new Vec3f((float)_irises[0][c], (float)_irises[1][c], (float)_irises[2][c]);
        }

        /// <summary>The upper lid's margin at <paramref name="h"/>: how far under the lid's landmarks the eyeball begins.</summary>
        public double Margin(double h) => _margins.Length == 0 ? MarginShare * Width : _margins[Math.Clamp((int)Math.Round(h / 0.5), 0, _margins.Length - 1)];

        /// <summary>A portrait point in the eye's frame (h along the corners, v up), and back.</summary>
        public (double H, double V) Frame(PointD q) => EyeFrame.Frame(q);
        public PointD FromFrame(double h, double v) => EyeFrame.FromFrame(h, v);

        /// <summary>How much of the portrait pixel at (h, v) lies inside the iris's circle (0..1, antialiased over a pixel).</summary>
        internal double IrisShare(double h, double v) => Math.Clamp(IrisRadius + 0.5 - Distance(h, v), 0, 1);

        /// <summary>
        /// The eyeball revealed at (h, v), <paramref name="below"/> under the animated upper lid: the iris inside its circle and the
        /// white outside it (antialiased over a pixel), each as the row under the lid's margin shows it in this column (they
        /// meet the eyeball there), shaded darker towards the lid.
        /// </summary>
        internal Vec3f Revealed(double h, double v, double below)
        {
            var iris = IrisAt(h);
            var white = WhiteAt(h);
            var (ib, ig, ir) = (iris.Item0, iris.Item1, iris.Item2);
            double t = Math.Clamp(below / (ShadowShare * Width), 0, 1), shade = 1 - ShadowDepth * (1 - t * t * (3 - 2 * t));
            double k = IrisShare(h, v);
            float C(float a, float b) => (float)(shade * (b + k * (a - b)));
            return new Vec3f(C(ib, white.Item0), C(ig, white.Item1), C(ir, white.Item2));
        }

        private static double Grey(Vec3f c) => 0.114 * c.Item0 + 0.587 * c.Item1 + 0.299 * c.Item2;   // BGR2GRAY's weights

        private double Distance(double h, double v) => Math.Sqrt((h - IrisH) * (h - IrisH) + (v - IrisV) * (v - IrisV));

        /// <summary>Models the eye, or null where its iris and white cannot be told apart.</summary>
        internal static EyeModel? Fit(Mat bgr, Mat grey, PointD[] l, int[] idx)
        {
            if (EyeFrame.Create(l, idx) is not { } frame || frame.Width < MinEyeWidthPx) return null;
            double width = frame.Width;
            var eye = new EyeModel { EyeFrame = frame };
            (eye.UpperH, eye.UpperV, eye.LowerH, eye.LowerV) = frame.Lids(k => l[idx[k]]);
            // the opening's samples, half a pixel apart, away from the corners (the caruncle, the lids' meeting) and under
            // the upper lid's margin (lashes)
            const double step = 0.5;
            int columns = (int)(width / step);
            var columnMean = new double[columns];
            var samples = new List<(double H, double V, double Grey, Vec3f Bgr)>();
            for (int c = 0; c < columns; c++)
            {
                double h = (c + 0.5) * step;
                columnMean[c] = double.NaN;
                if (h < 0.12 * width || h > 0.88 * width) continue;
                double lo = Along(eye.LowerH, eye.LowerV, h) + 1, up = Along(eye.UpperH, eye.UpperV, h) - 0.5 * MarginShare * width;
                // the column's darkness from its middle (the lids' shadows and lashes darken its ends)
                double midLo = lo + 0.15 * (up - lo), midHi = up - 0.3 * (up - lo);
                double sum = 0; int n = 0;
                for (double v = lo; v <= up; v += step)
                {
                    var q = eye.FromFrame(h, v);
                    double g = Bilinear(grey, q.X, q.Y);
                    if (double.IsNaN(g)) continue;
                    var b = BilinearBgr(bgr, q.X, q.Y);
                    samples.Add((h, v, g, b));
                    if (v >= midLo && v <= midHi) { sum += g; n++; }
                }
                if (n > 0) columnMean[c] = sum / n;
            }
            if (samples.Count < 20) return null;
            // the white: the lighter samples; the iris: the darkest columns
            var greys = samples.Select(s => s.Grey).Order().ToArray();
            double whiteLevel = greys[(int)(0.85 * (greys.Length - 1))];
            var smooth = Smooth(columnMean, Math.Max(1, (int)(0.04 * width / step)));
            int darkest = -1;
            for (int c = 0; c < columns; c++) if (!double.IsNaN(smooth[c]) && (darkest < 0 || smooth[c] < smooth[darkest])) darkest = c;
            if (darkest < 0) return null;
            double irisLevel = smooth[darkest];
            if (whiteLevel - irisLevel < MinContrast) return null;
            double threshold = 0.5 * (whiteLevel + irisLevel);
            int left = darkest, right = darkest;
            while (left > 0 && !double.IsNaN(smooth[left - 1]) && smooth[left - 1] < threshold) left--;
            while (right < columns - 1 && !double.IsNaN(smooth[right + 1]) && smooth[right + 1] < threshold) right++;
            double radius = Math.Clamp(0.5 * (right - left + 1) * step, MinIrisShare * width, MaxIrisShare * width);
            double centreH = (left + right + 1) * 0.5 * step;
            // its height: the column through its centre, from the lower lid up, then from the upper margin down
            double loC = Along(eye.LowerH, eye.LowerV, centreH), upC = Along(eye.UpperH, eye.UpperV, centreH);
            double? bottom = null, top = null;
            for (double v = loC + 0.5; v <= upC - 0.5 * MarginShare * width; v += step)
            {
                var q = eye.FromFrame(centreH, v);
                if (Bilinear(grey, q.X, q.Y) < threshold) { bottom = v; break; }
            }
            for (double v = upC - 0.5 * MarginShare * width; v >= loC + 0.5; v -= step)
            {
                var q = eye.FromFrame(centreH, v);
                if (Bilinear(grey, q.X, q.Y) < threshold) { top = v; break; }
            }
            if (bottom is null) return null;
            bool whiteBelow = bottom.Value > loC + 1.5, whiteAbove = top is { } t0 && t0 < upC - 0.5 * MarginShare * width - 1.5;
            double centreV = whiteBelow && whiteAbove ? 0.5 * (bottom.Value + top!.Value)
                : whiteBelow ? bottom.Value + radius
                : whiteAbove ? top!.Value - radius
                : loC + radius;
            // refined: a circle through the iris's visible edges (where the dark run of a row or column meets white, not a lid)
            if (FitEdges(eye, grey, threshold, centreH, width) is { } fit
                && fit.R >= MinIrisShare * width * 0.6 && fit.R <= MaxIrisShare * width * 1.3
                && Math.Abs(fit.H - centreH) < radius && Math.Abs(fit.V - centreV) < radius)
                (centreH, centreV, radius) = (fit.H, fit.V, Math.Clamp(fit.R, MinIrisShare * width, MaxIrisShare * width));
            // the circle must explain the opening: the visible pixels inside it dark (iris), outside it light (white)
            double Dist((double H, double V, double Grey, Vec3f Bgr) s) => Math.Sqrt((s.H - centreH) * (s.H - centreH) + (s.V - centreV) * (s.V - centreV));
            var inCircle = samples.Where(s => Dist(s) < radius - 1).ToList();
            var outCircle = samples.Where(s => Dist(s) > radius + 1).ToList();
            double agreeIn = inCircle.Count == 0 ? 0 : inCircle.Count(s => s.Grey < threshold) / (double)inCircle.Count;
            double agreeOut = outCircle.Count == 0 ? 0 : outCircle.Count(s => s.Grey >= threshold) / (double)outCircle.Count;
            var margins = MeasureMargins(eye, grey, threshold, centreH, radius);
            var (whites, irises) = RowColours(eye, bgr, grey, margins, threshold, centreH, centreV, radius);
            // colours: the white outside the iris and light; the iris's outer ring (a light iris is lighter than the threshold)
            Vec3f Mean(IEnumerable<Vec3f> v)
            {
                double b = 0, g = 0, r = 0; int n = 0;
                foreach (var x in v) { b += x.Item0; g += x.Item1; r += x.Item2; n++; }
                return n == 0 ? default : new Vec3f((float)(b / n), (float)(g / n), (float)(r / n));
            }
            var white = samples.Where(s => Dist(s) > radius + 1 && s.Grey >= threshold).ToList();
            var ring = samples.Where(s => Dist(s) < radius - 0.5 && Dist(s) > 0.55 * radius).ToList();
            if (white.Count < 6 || ring.Count < 4) return null;
            return new EyeModel
            {
                EyeFrame = frame,
                IrisH = centreH, IrisV = centreV, IrisRadius = radius, Threshold = threshold,
                White = Mean(white.Select(s => s.Bgr)), Iris = Mean(ring.Select(s => s.Bgr)),
                _margins = margins, AgreeIn = agreeIn, AgreeOut = agreeOut,
            }.WithLids(eye).WithWhites(whites).WithIrises(irises);
        }

        /// <summary>
        /// The upper lid's margin per half pixel along the eye: beside the iris, from the lid's landmarks down past its darkest
        /// row (liner, lashes) to where the column has come MarginRecovery of the way back up to the lightest below it (the
        /// white, shaded as it may be); over the iris, where liner and iris are both dark, the thinner of the margins on either
        /// side of it, ending above a catchlight.
        /// </summary>
        private static double[] MeasureMargins(EyeModel eye, Mat grey, double threshold, double centreH, double radius)
        {
            const double step = 0.5;
            double width = eye.Width;
            int mc = (int)(width / step) + 1;
            var margins = new double[mc];
            for (int c = 0; c < mc; c++)
            {
                double h = c * step, upH = Along(eye.UpperH, eye.UpperV, h), loH = Along(eye.LowerH, eye.LowerV, h);
                margins[c] = double.NaN;
                if (Math.Abs(h - centreH) < radius + 1) continue;
                var col = new List<double>();
                for (double d = 0; d <= 2 * MaxMarginShare * width && upH - d > loH + 1; d += step)
                {
                    var q = eye.FromFrame(h, upH - d);
                    col.Add(Bilinear(grey, q.X, q.Y));
                }
                int reach = Math.Min(col.Count, (int)(MaxMarginShare * width / step) + 1);
                if (reach < 2 || col.Any(double.IsNaN)) continue;
                int dark = Enumerable.Range(0, reach).MinBy(i => col[i]);
                double light = col.Skip(dark).Max();
                if (light - col[dark] < MinContrast / 2) continue;
                for (int i = dark; i < col.Count; i++)
                    if (col[i] >= col[dark] + MarginRecovery * (light - col[dark])) { margins[c] = i * step; break; }
            }
            // over the iris: the thinner of the margins measured on either side of it
            {
                var known = Enumerable.Range(0, mc).Where(c => !double.IsNaN(margins[c])).ToArray();
                var leftSide = known.Where(c => c * step < centreH).Select(c => margins[c]).DefaultIfEmpty(double.NaN).Last();
                var rightSide = known.Where(c => c * step > centreH).Select(c => margins[c]).DefaultIfEmpty(double.NaN).First();
                double over = double.IsNaN(leftSide) ? rightSide : double.IsNaN(rightSide) ? leftSide : Math.Min(leftSide, rightSide);
                for (int c = 0; c < mc; c++)
                {
                    if (!double.IsNaN(margins[c]) || Math.Abs(c * step - centreH) >= radius + 1) continue;
                    double h = c * step, upH = Along(eye.UpperH, eye.UpperV, h), m = double.IsNaN(over) ? MarginShare * width : over;
                    // a catchlight on the iris stays with the eyeball: the margin ends above it
                    for (double d = 0; d < m; d += step)
                    {
                        var q = eye.FromFrame(h, upH - d);
                        if (Bilinear(grey, q.X, q.Y) >= threshold) { m = d; break; }
                    }
                    margins[c] = m;
                }
            }
            FillGaps(margins, MarginShare * width);
            for (int c = 0; c < mc; c++) margins[c] = Math.Clamp(margins[c], 0, MaxMarginShare * width);
            return margins;
        }

        /// <summary>The white and the iris (B, G, R per half pixel along the eye) in the row under the lid's margin, each where that
        /// row shows it, NaN elsewhere (WithWhites and WithIrises fill those from the neighbours).</summary>
        private static (double[][] Whites, double[][] Irises) RowColours(EyeModel eye, Mat bgr, Mat grey, double[] margins, double threshold,
            double centreH, double centreV, double radius)
        {
            const double step = 0.5;
            int mc = margins.Length;
            // the white in the row under the margin, per column: where that row is white, else from its neighbours
            var whites = new[] { new double[mc], new double[mc], new double[mc] };
            for (int c = 0; c < mc; c++)
            {
                double h = c * step, vTop = Along(eye.UpperH, eye.UpperV, h) - margins[c] - 1;
                for (int ch = 0; ch < 3; ch++) whites[ch][c] = double.NaN;
                if (Math.Sqrt((h - centreH) * (h - centreH) + (vTop - centreV) * (vTop - centreV)) < radius + 1 || vTop <= Along(eye.LowerH, eye.LowerV, h)) continue;
                var q = eye.FromFrame(h, vTop);
                if (Bilinear(grey, q.X, q.Y) < threshold) continue;
                var b = BilinearBgr(bgr, q.X, q.Y);
                whites[0][c] = b.Item0; whites[1][c] = b.Item1; whites[2][c] = b.Item2;
            }
            // and the iris in that row, per column over the circle: where it is iris of the iris's own shade
            var irises = new[] { new double[mc], new double[mc], new double[mc] };
            for (int c = 0; c < mc; c++)
            {
                double h = c * step, vTop = Along(eye.UpperH, eye.UpperV, h) - margins[c] - 1;
                for (int ch = 0; ch < 3; ch++) irises[ch][c] = double.NaN;
                if (Math.Sqrt((h - centreH) * (h - centreH) + (vTop - centreV) * (vTop - centreV)) >= radius - 0.5) continue;
                var q = eye.FromFrame(h, vTop);
                var b = BilinearBgr(bgr, q.X, q.Y);
                irises[0][c] = b.Item0; irises[1][c] = b.Item1; irises[2][c] = b.Item2;
            }
            return (whites, irises);
        }

        /// <summary>
        /// A least-squares circle (Kasa's) through the iris's edge points: in each row of the opening (half a pixel apart)
        /// the ends of the dark run around <paramref name="centreH"/>, and in each column its lowest and highest dark
        /// cells, each only where the next cell is inside the opening and light. Null with under 8 points.
        /// </summary>
        private static (double H, double V, double R)? FitEdges(EyeModel eye, Mat grey, double threshold, double centreH, double width)
        {
            const double step = 0.5;
            double vMin = Math.Min(eye.LowerV.Min(), eye.UpperV.Min()), vMax = Math.Max(eye.LowerV.Max(), eye.UpperV.Max());
            int nh = (int)(width / step) + 1, nv = (int)((vMax - vMin) / step) + 1;
            if (nv < 3) return null;
            var g = new double[nv, nh];
            for (int j = 0; j < nv; j++)
                for (int i = 0; i < nh; i++)
                {
                    double h = i * step, v = vMin + j * step;
                    bool inside = h > 0.05 * width && h < 0.95 * width && v > Along(eye.LowerH, eye.LowerV, h) + 0.5 && v < Along(eye.UpperH, eye.UpperV, h) - 0.5 * MarginShare * width;
                    var q = eye.FromFrame(h, v);
                    g[j, i] = inside ? Bilinear(grey, q.X, q.Y) : double.NaN;
                }
            bool Light(int j, int i) => j >= 0 && j < nv && i >= 0 && i < nh && !double.IsNaN(g[j, i]) && g[j, i] >= threshold;
            bool Dark(int j, int i) => j >= 0 && j < nv && i >= 0 && i < nh && !double.IsNaN(g[j, i]) && g[j, i] < threshold;
            // the crossing between a dark cell and the light one next to it, at the threshold
            double Cross(double a, double b) => Math.Clamp((threshold - a) / (b - a), 0, 1);
            var pts = new List<(double H, double V)>();
            int ci = (int)Math.Round(centreH / step);
            for (int j = 0; j < nv; j++)
            {
                if (!Dark(j, ci)) continue;
                int l = ci, r = ci;
                while (Dark(j, l - 1) || (Dark(j, l - 2) && !double.IsNaN(g[j, l - 1]))) l--;     // a catchlight a cell wide is bridged
                while (Dark(j, r + 1) || (Dark(j, r + 2) && !double.IsNaN(g[j, r + 1]))) r++;
                if (Dark(j, l - 1)) l--;
                if (Dark(j, r + 1)) r++;
                double v = vMin + j * step;
                if (Light(j, l - 1)) pts.Add(((l - Cross(g[j, l], g[j, l - 1])) * step, v));
                if (Light(j, r + 1)) pts.Add(((r + Cross(g[j, r], g[j, r + 1])) * step, v));
            }
            int span = (int)Math.Round(MaxIrisShare * width / step);
            for (int i = Math.Max(0, ci - span); i <= Math.Min(nh - 1, ci + span); i++)
            {
                int lo = -1, hi = -1;
                for (int j = 0; j < nv; j++) if (Dark(j, i)) { if (lo < 0) lo = j; hi = j; }
                if (lo < 0) continue;
                if (Light(lo - 1, i)) pts.Add((i * step, vMin + (lo - Cross(g[lo, i], g[lo - 1, i])) * step));
                if (Light(hi + 1, i)) pts.Add((i * step, vMin + (hi + Cross(g[hi, i], g[hi + 1, i])) * step));
            }
            if (pts.Count < 8) return null;
            // Kasa: minimise the sum of (h^2 + v^2 + D h + E v + F)^2
            double sh = 0, sv = 0, shh = 0, svv = 0, shv = 0, sz = 0, szh = 0, szv = 0; int n = pts.Count;
            foreach (var (h, v) in pts)
            {
                double z = h * h + v * v;
                sh += h; sv += v; shh += h * h; svv += v * v; shv += h * v; sz += z; szh += z * h; szv += z * v;
            }
            // normal equations for [D E F]: [shh shv sh; shv svv sv; sh sv n] x = -[szh szv sz]
            double[,] a = { { shh, shv, sh }, { shv, svv, sv }, { sh, sv, n } };
            double[] b = { -szh, -szv, -sz };
            double det = Det3(a);
            if (Math.Abs(det) < 1e-9) return null;
            double[] x = new double[3];
            for (int k = 0; k < 3; k++)
            {
                var m = (double[,])a.Clone();
                for (int r = 0; r < 3; r++) m[r, k] = b[r];
                x[k] = Det3(m) / det;
            }
            double ch = -x[0] / 2, cv = -x[1] / 2, rr = ch * ch + cv * cv - x[2];
            return rr > 0 ? (ch, cv, Math.Sqrt(rr)) : null;
        }

        /// <summary>Fills NaN entries by linear interpolation between their known neighbours (the nearest one at the ends; <paramref name="fallback"/> if none is known).</summary>
        private static void FillGaps(double[] a, double fallback)
        {
            var known = Enumerable.Range(0, a.Length).Where(i => !double.IsNaN(a[i])).ToArray();
            if (known.Length == 0) { Array.Fill(a, fallback); return; }
            for (int i = 0; i < a.Length; i++)
            {
                if (!double.IsNaN(a[i])) continue;
                int k = Array.BinarySearch(known, i);
                k = ~k;
                a[i] = k == 0 ? a[known[0]] : k == known.Length ? a[known[^1]]
                    : a[known[k - 1]] + (a[known[k]] - a[known[k - 1]]) * (i - known[k - 1]) / (double)(known[k] - known[k - 1]);
            }
        }

        private static double Det3(double[,] m) =>
            m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0]) + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);

        /// <summary>Keeps the iris samples of the iris's own shade (within 0.35 of the way from its ring's grey to the white's), the
        /// rest from their neighbours.</summary>
        private EyeModel WithIrises(double[][] irises)
        {
            double tolerance = 0.35 * (Grey(White) - Grey(Iris));
            for (int c = 0; c < irises[0].Length; c++)
                if (!double.IsNaN(irises[0][c]) && Math.Abs(0.114 * irises[0][c] + 0.587 * irises[1][c] + 0.299 * irises[2][c] - Grey(Iris)) > tolerance)
                    irises[0][c] = irises[1][c] = irises[2][c] = double.NaN;
            FillGaps(irises[0], Iris.Item0); FillGaps(irises[1], Iris.Item1); FillGaps(irises[2], Iris.Item2);
            _irises = irises;
            return this;
        }

        private EyeModel WithWhites(double[][] whites)
        {
            FillGaps(whites[0], White.Item0); FillGaps(whites[1], White.Item1); FillGaps(whites[2], White.Item2);
            _whites = whites;
            return this;
        }

        private EyeModel WithLids(EyeModel from)
        {
            (UpperH, UpperV, LowerH, LowerV) = (from.UpperH, from.UpperV, from.LowerH, from.LowerV);
            return this;
        }

        private static double[] Smooth(double[] a, int radius)
        {
            var r = new double[a.Length];
            for (int i = 0; i < a.Length; i++)
            {
                double s = 0; int n = 0;
                for (int j = Math.Max(0, i - radius); j <= Math.Min(a.Length - 1, i + radius); j++) if (!double.IsNaN(a[j])) { s += a[j]; n++; }
                r[i] = double.IsNaN(a[i]) || n == 0 ? double.NaN : s / n;
            }
            return r;
        }

        private static double Bilinear(Mat grey, double x, double y)
        {
            int x0 = (int)Math.Floor(x), y0 = (int)Math.Floor(y);
            if (x0 < 0 || y0 < 0 || x0 + 1 >= grey.Width || y0 + 1 >= grey.Height) return double.NaN;
            double fx = x - x0, fy = y - y0;
            double a = grey.At<byte>(y0, x0), b = grey.At<byte>(y0, x0 + 1), c = grey.At<byte>(y0 + 1, x0), d = grey.At<byte>(y0 + 1, x0 + 1);
            return (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * d);
        }

        internal static Vec3f BilinearBgr(Mat bgr, double x, double y)
        {
            int x0 = Math.Clamp((int)Math.Floor(x), 0, bgr.Width - 2), y0 = Math.Clamp((int)Math.Floor(y), 0, bgr.Height - 2);
            double fx = Math.Clamp(x - x0, 0, 1), fy = Math.Clamp(y - y0, 0, 1);
            if (bgr.Channels() == 1)
            {
                double g = Bilinear(bgr, x, y);
                return new Vec3f((float)g, (float)g, (float)g);
            }
            var a = bgr.At<Vec3b>(y0, x0); var b = bgr.At<Vec3b>(y0, x0 + 1); var c = bgr.At<Vec3b>(y0 + 1, x0); var d = bgr.At<Vec3b>(y0 + 1, x0 + 1);
            float F(byte p, byte q, byte r, byte s) => (float)((1 - fy) * ((1 - fx) * p + fx * q) + fy * ((1 - fx) * r + fx * s));
            return new Vec3f(F(a.Item0, b.Item0, c.Item0, d.Item0), F(a.Item1, b.Item1, c.Item1, d.Item1), F(a.Item2, b.Item2, c.Item2, d.Item2));
        }
    }
}
