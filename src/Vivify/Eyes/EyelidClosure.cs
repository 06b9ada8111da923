// EyelidClosure: a lid that comes down covers the eyeball instead of squashing it.
// The warp maps each eye's six landmarks exactly, so when the driver blinks or squints the
// piecewise-affine warp squeezes the portrait's whole eye (iris, pupil, whites) into the narrower
// opening, an oval iris, and stretches the lashes above it into a dark band. A real lid slides over
// a round eyeball and unfolds above its lashes. Per frame and per eye, where the animated eye opens
// less than the portrait's, this stage changes where three zones of the eye are sampled from:
// - inside the animated eye polygon, the eyeball is sampled through the similarity that takes the
//   animated eye corners onto the portrait's (it moves with the head, unsquashed), so the lids'
//   edges cut it off;
// - above the upper lid (LidZoneShare of the eye's width), the lid's margin (lashes, liner,
//   LashBandShare) is pressed into a thin lash line as far as the lid has come down there (a shut
//   eye's lashes hang below the lid, not above it), fading out towards the corners
//   (CornerTaperShare); the skin above it takes the stretch;
// - below a lower lid that has come up, the source starts FringeShare further down, past the white
//   of the eye that lies just outside the landmarks (a shut eye shows no white line).
// Each change is weighted by how much the eye has closed (none up to OpenShare narrower than the
// portrait's own opening, in full from ClosedShare narrower), and vanishes at the zones' far edges
// and at the eye's corners, so the map stays continuous there. The eye's box is resampled with one
// sample per pixel (as the warp samples) but on the lids' edge, a discontinuity by nature (lid in
// front of eyeball), where SuperSampling x SuperSampling samples are averaged so the edge is
// antialiased; the box is laid over the warped frame where the change moves the samples.
// EyesShown tells a portrait whose eyes are hidden (sunglasses), which the animator leaves alone.
// Requires: the portrait's 68 landmarks; per frame the animated landmarks, the warp's CV_32FC1 maps
// and the frame the warp resampled through them.
// Guarantees: an eye less than OpenShare narrower than the portrait's leaves the frame untouched;
// only pixels in an eye's box whose samples a zone moves are replaced (in part where it moves them
// less than NoticedShiftPx); the change is continuous in the landmarks (no pop as a blink starts or
// ends) and meets the warp's frame at the eye's corners.
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using static Vivify.Eyes.EyeFrame;

namespace Vivify.Eyes;

public sealed class EyelidClosure
{
    /// <summary>Closing (1 - opening over the portrait's) at which the eyeball is sampled unsquashed in full.</summary>
    public const double ClosedShare = 0.25;
    /// <summary>Closing under this is the landmarks' noise (and what the warp's squeeze shows well): the eye is left alone.</summary>
    public const double OpenShare = 0.05;
    /// <summary>The zone above the upper lid whose stretch is redistributed, as a share of the eye's width.</summary>
    public const double LidZoneShare = 0.5;
    /// <summary>The zone below the lower lid, as a share of the eye's width.</summary>
    public const double LowerZoneShare = 0.3;
    /// <summary>The lid's margin above the upper lid's landmarks (lashes, liner), as a share of the eye's width.</summary>
    public const double LashBandShare = 0.12;
    /// <summary>What the margin is pressed into when the eye is shut: a lash line this thick (share of the eye's width). An
    /// open eye's lashes rise above the lid; a shut one's hang below it, so the lid above shows skin.</summary>
    public const double LashLineShare = 0.03;
    /// <summary>The lash band's pressing and the fringe's skip fade out over this share of the eye's width to its corners.</summary>
    public const double CornerTaperShare = 0.2;
    /// <summary>The white of the eye that shows just outside the lower lid's landmarks, as a share of the eye's width.</summary>
    public const double FringeShare = 0.05;
    /// <summary>A sample moved this far (portrait pixels) or more counts in full towards laying the redrawn pixel over the warp's.</summary>
    public const double NoticedShiftPx = 0.5;
    /// <summary>Samples per pixel side in the eye's box.</summary>
    public const int SuperSampling = 3;

    /// <summary>Each eye's six landmarks: corner, two upper lid points, corner, two lower lid points.</summary>
    internal static readonly int[][] EyeIndices = [[36, 37, 38, 39, 40, 41], [42, 43, 44, 45, 46, 47]];
    private readonly double[] _opening;
    private readonly EyeFrame?[] _frames;
    private readonly (double[] UpperH, double[] UpperV, double[] LowerH, double[] LowerV)[] _lids;

    public EyelidClosure(ReadOnlySpan<PointD> portraitLandmarks)
    {
        var portrait = portraitLandmarks[..68].ToArray();
        _opening = [FaceLandmarks.EyeAspectRatio(portrait, 0), FaceLandmarks.EyeAspectRatio(portrait, 1)];
        _frames = [.. EyeIndices.Select(idx => EyeFrame.Create(portrait, idx))];
        _lids = [.. EyeIndices.Select((idx, e) => _frames[e] is { } f ? f.Lids(k => portrait[idx[k]]) : default)];
    }

    /// <summary>How much eye <paramref name="eye"/> (0: 36-41; 1: 42-47) is closed in <paramref name="current"/>: 0 at the portrait's opening or wider, 1 fully.</summary>
    public double Closing(ReadOnlySpan<PointD> current, int eye) =>
        _opening[eye] <= 1e-6 ? 0 : Math.Clamp(1 - FaceLandmarks.EyeAspectRatio(current, eye) / _opening[eye], 0, 1);

    /// <summary>The weight of the change for a closing: smoothstep from <see cref="OpenShare"/> to <see cref="ClosedShare"/>.</summary>
    public static double Weight(double closing)
    {
        double t = Math.Clamp((closing - OpenShare) / (ClosedShare - OpenShare), 0, 1);
        return t * t * (3 - 2 * t);
    }

    /// <summary>Eyes, and the skin around them, this much darker than the cheeks (mean grey over the cheeks' mean) show no
    /// eyeball: sunglasses, a mask. A deep-set or shadowed eye is dark too, but the lids and the skin under it are not.</summary>
    public const double HiddenDarkness = 0.45;
    /// <summary>How far around the eyes the skin is read (IODs).</summary>
    public const double AroundIod = 0.12;

    /// <summary>
    /// Whether the portrait shows its eyes: false where both eye polygons and a band around them are much darker than the
    /// cheeks (sunglasses): there the lids are not the portrait's to close (the animator then leaves blinks and this stage out).
    /// </summary>
    public static bool EyesShown(Mat portrait, ReadOnlySpan<PointD> landmarks)
    {
        int[][] eyePolygons = EyeIndices, cheekPolygons = [[1, 2, 3, 31, 29], [15, 14, 13, 35, 29]];
        // the band around them: the eyes grown by AroundIod, less the eyes
        int grow = Math.Max(1, (int)Math.Round(AroundIod * FaceLandmarks.InterOcularDistance(landmarks)));
        // all of it inside the box of the polygons' points grown by the band (and a pixel): a 12-megapixel photo's
        // dilation over the whole image took 3.5 s
        double x0 = double.MaxValue, y0 = double.MaxValue, x1 = double.MinValue, y1 = double.MinValue;
        foreach (var poly in eyePolygons.Concat(cheekPolygons))
            foreach (int k in poly)
            {
                x0 = Math.Min(x0, landmarks[k].X); y0 = Math.Min(y0, landmarks[k].Y);
                x1 = Math.Max(x1, landmarks[k].X); y1 = Math.Max(y1, landmarks[k].Y);
            }
        int pad = grow + 2;
        var roi = new Rect((int)Math.Floor(x0) - pad, (int)Math.Floor(y0) - pad, 0, 0);
        roi.Width = (int)Math.Ceiling(x1) + pad - roi.X + 1; roi.Height = (int)Math.Ceiling(y1) + pad - roi.Y + 1;
        roi = roi.Intersect(new Rect(0, 0, portrait.Width, portrait.Height));
        if (roi.Width < 1 || roi.Height < 1) return true;
        using var part = new Mat(portrait, roi);
        using var grey = part.Channels() == 1 ? part.Clone() : part.CvtColor(ColorConversionCodes.BGR2GRAY);
        var l = landmarks.ToArray();
        Mat Fill(int[][] polygons)
        {
            var m = new Mat(grey.Size(), MatType.CV_8UC1, Scalar.All(0));
            foreach (var poly in polygons)
            {
                var pts = new Point[poly.Length];
                for (int k = 0; k < poly.Length; k++) pts[k] = new Point((int)Math.Round(l[poly[k]].X) - roi.X, (int)Math.Round(l[poly[k]].Y) - roi.Y);
                Cv2.FillConvexPoly(m, pts, Scalar.All(255));
            }
            return m;
        }
        using var eyes = Fill(eyePolygons);
        // within grow pixels of an eye (Euclidean, exact): a dilation by a disc, in time that does not grow with the disc
        using var around = new Mat();
        using (var outside = new Mat())
        using (var distance = new Mat())
        {
            Cv2.BitwiseNot(eyes, outside);
            Cv2.DistanceTransform(outside, distance, DistanceTypes.L2, DistanceTransformMasks.Precise);
            Cv2.Threshold(distance, distance, grow + 0.5, 255, ThresholdTypes.BinaryInv);
            distance.ConvertTo(around, MatType.CV_8UC1);
        }
        around.SetTo(Scalar.All(0), eyes);
        // the cheeks: between the jaw's sides and the nose, from the nose's base up to its bridge
        using var cheeks = Fill(cheekPolygons);
        if (Cv2.CountNonZero(eyes) < 4 || Cv2.CountNonZero(cheeks) < 4) return true;
        double cheek = Cv2.Mean(grey, cheeks).Val0;
        return !(Cv2.Mean(grey, eyes).Val0 < HiddenDarkness * cheek && Cv2.Mean(grey, around).Val0 < HiddenDarkness * cheek);
    }

    /// <summary>How many eyes the last Apply redrew (0-2).</summary>
    public int LastRedrawnEyes { get; private set; }

    /// <summary>
    /// Redraws each animated eye that opens less than the portrait's in <paramref name="output"/>, the frame the warp made
    /// from <paramref name="portrait"/> through <paramref name="mapX"/>, <paramref name="mapY"/> (which are not changed).
    /// </summary>
    public void Apply(Mat portrait, Mat mapX, Mat mapY, ReadOnlySpan<PointD> current, Mat output)
    {
        if (mapX.Type() != MatType.CV_32FC1 || mapY.Type() != MatType.CV_32FC1) throw new ArgumentException("maps must be CV_32FC1");
        LastRedrawnEyes = 0;
        for (int e = 0; e < EyeIndices.Length; e++)
        {
            double weight = Weight(Closing(current, e));
            if (weight <= 0) continue;
            if (_frames[e] is not { } frame || EyeGeometry.Create(frame, _lids[e], current, EyeIndices[e], weight) is not { } eye) continue;
            Redraw(eye, portrait, mapX, mapY, output);
            LastRedrawnEyes++;
        }
    }

    private static unsafe void Redraw(EyeGeometry eye, Mat portrait, Mat mapX, Mat mapY, Mat output)
    {
        var box = eye.Box(output.Width, output.Height);
        if (box.Width <= 0 || box.Height <= 0) return;
        int bw = box.Width, bh = box.Height;
        // one sample per pixel, at its centre (as the warp samples), where the map is continuous; the pixels on the lids'
        // edge (the eyeball's polygon), where it jumps, are SuperSampling^2 samples averaged
        using var px = new Mat(bh, bw, MatType.CV_32FC1);
        using var py = new Mat(bh, bw, MatType.CV_32FC1);
        var alpha = new float[bw * bh];
        var edge = new List<int>();
        for (int y = 0; y < bh; y++)
        {
            float* mx = (float*)mapX.Ptr(box.Y + y), my = (float*)mapY.Ptr(box.Y + y);
            float* ox = (float*)px.Ptr(y), oy = (float*)py.Ptr(y);
            for (int x = 0; x < bw; x++)
            {
                double sx = mx[box.X + x], sy = my[box.X + x];
                double moved = eye.Change(box.X + x, box.Y + y, ref sx, ref sy, out bool onEdge);
                ox[x] = (float)sx; oy[x] = (float)sy;
                alpha[y * bw + x] = (float)Math.Min(1, moved / NoticedShiftPx);
                if (onEdge) edge.Add(y * bw + x);
            }
        }
        using var patch = new Mat();
        Cv2.Remap(portrait, patch, px, py, InterpolationFlags.Linear, BorderTypes.Replicate);
        int channels = output.Channels();
        if (edge.Count > 0)
        {
            const int s = SuperSampling, n = s * s;
            using var ex = new Mat(1, edge.Count * n, MatType.CV_32FC1);
            using var ey = new Mat(1, edge.Count * n, MatType.CV_32FC1);
            float* fx = (float*)ex.Ptr(0), fy = (float*)ey.Ptr(0);
            int mw = mapX.Width, mh = mapX.Height;
            for (int k = 0; k < edge.Count; k++)
            {
                int bx = edge[k] % bw, by = edge[k] / bw;
                double a = 0;
                for (int j = 0; j < s; j++)
                    for (int i = 0; i < s; i++)
                    {
                        double x = box.X + bx + (i + 0.5) / s - 0.5, y = box.Y + by + (j + 0.5) / s - 0.5;
                        // the warp's map, bilinear between pixel centres
                        int x0 = Math.Clamp((int)Math.Floor(x), 0, mw - 1), x1 = Math.Min(x0 + 1, mw - 1);
                        int y0 = Math.Clamp((int)Math.Floor(y), 0, mh - 1), y1 = Math.Min(y0 + 1, mh - 1);
                        double wx = Math.Clamp(x - x0, 0, 1), wy = Math.Clamp(y - y0, 0, 1);
                        double sx = (1 - wy) * ((1 - wx) * mapX.At<float>(y0, x0) + wx * mapX.At<float>(y0, x1)) + wy * ((1 - wx) * mapX.At<float>(y1, x0) + wx * mapX.At<float>(y1, x1));
                        double sy = (1 - wy) * ((1 - wx) * mapY.At<float>(y0, x0) + wx * mapY.At<float>(y0, x1)) + wy * ((1 - wx) * mapY.At<float>(y1, x0) + wx * mapY.At<float>(y1, x1));
                        a += Math.Min(1, eye.Change(x, y, ref sx, ref sy, out _) / NoticedShiftPx);
                        fx[k * n + j * s + i] = (float)sx; fy[k * n + j * s + i] = (float)sy;
                    }
                alpha[edge[k]] = (float)(a / n);
            }
            using var samples = new Mat();
            Cv2.Remap(portrait, samples, ex, ey, InterpolationFlags.Linear, BorderTypes.Replicate);
            byte* sp = (byte*)samples.Ptr(0);
            for (int k = 0; k < edge.Count; k++)
            {
                byte* d = (byte*)patch.Ptr(edge[k] / bw) + (edge[k] % bw) * channels;
                for (int c = 0; c < channels; c++)
                {
                    int sum = 0;
                    for (int q = 0; q < n; q++) sum += sp[(k * n + q) * channels + c];
                    d[c] = (byte)((sum + n / 2) / n);
                }
            }
        }
        // laid over where samples moved (a pixel whose samples did not keeps the warp's own sampling, so the box leaves no edge)
        using var dst = new Mat(output, box);
        for (int y = 0; y < bh; y++)
        {
            byte* d = (byte*)dst.Ptr(y), p = (byte*)patch.Ptr(y);
            for (int x = 0; x < bw; x++)
            {
                double a = Math.Min(1, 2 * alpha[y * bw + x]);
                if (a <= 0) continue;
                for (int c = 0; c < channels; c++)
                    d[x * channels + c] = (byte)Math.Round(d[x * channels + c] + a * (p[x * channels + c] - d[x * channels + c]));
            }
        }
    }

    /// <summary>One animated eye against the portrait's: the zones' geometry in the portrait's eye frame.</summary>
    private sealed class EyeGeometry
    {
        private EyeFrame _frame = null!;
        private EyeFrame.CornerSimilarity _sim;
        private double _weight;
        private double[] _hp = [], _vp = [], _hc = [], _vc = [], _lhp = [], _lvp = [], _lhc = [], _lvc = [];
        private PointD[] _poly = [];
        private double Width => _frame.Width;

        /// <summary>The animated eye (<paramref name="current"/>[<paramref name="idx"/>]) against the portrait's eye in its <paramref name="frame"/>,
        /// whose lids are <paramref name="portraitLids"/>; null when the animated corners meet.</summary>
        public static EyeGeometry? Create(EyeFrame frame, (double[] UpperH, double[] UpperV, double[] LowerH, double[] LowerV) portraitLids,
            ReadOnlySpan<PointD> current, int[] idx, double weight)
        {
            var poly = new PointD[idx.Length];
            for (int k = 0; k < idx.Length; k++) poly[k] = current[idx[k]];
            if (frame.From(poly[0], poly[3]) is not { } sim) return null;
            var g = new EyeGeometry { _frame = frame, _sim = sim, _weight = weight, _poly = poly };
            (g._hp, g._vp, g._lhp, g._lvp) = portraitLids;
            (g._hc, g._vc, g._lhc, g._lvc) = frame.Lids(k => sim.ToPortrait(poly[k].X, poly[k].Y));
            return g;
        }

        /// <summary>0 at the eye's corners, rising smoothly to 1 at CornerTaperShare of its width from them: the margin and
        /// the fringe have no thickness where the lids meet at a corner.</summary>
        private double CornerTaper(double h)
        {
            double t = Math.Clamp(Math.Min(h, Width - h) / (CornerTaperShare * Width), 0, 1);
            return t * t * (3 - 2 * t);
        }


        /// <summary>The output box holding the eye and its zones.</summary>
        public Rect Box(int w, int h)
        {
            double scale = _sim.Scale, up = LidZoneShare * Width / Math.Max(scale, 1e-3) + 1, down = LowerZoneShare * Width / Math.Max(scale, 1e-3) + 1;
            // the zones stand perpendicular to the corner line, which a tilted eye turns: as wide a margin at the sides
            double side = Math.Max(up, down);
            int x0 = Math.Max(0, (int)Math.Floor(_poly.Min(q => q.X) - side)), x1 = Math.Min(w - 1, (int)Math.Ceiling(_poly.Max(q => q.X) + side));
            int y0 = Math.Max(0, (int)Math.Floor(_poly.Min(q => q.Y) - up)), y1 = Math.Min(h - 1, (int)Math.Ceiling(_poly.Max(q => q.Y) + down));
            return new Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
        }

        /// <summary>Changes the source (sx, sy) the warp gives output point (x, y), where a zone does; returns how far it moved
        /// it. <paramref name="onEdge"/>: the point lies within a pixel of the lids' edge, where the change jumps.</summary>
        public double Change(double x, double y, ref double sx, ref double sy, out bool onEdge)
        {
            double x0 = sx, y0 = sy;
            Shift(x, y, ref sx, ref sy, out onEdge);
            return Math.Sqrt((sx - x0) * (sx - x0) + (sy - y0) * (sy - y0));
        }

        private void Shift(double x, double y, ref double sx, ref double sy, out bool onEdge)
        {
            var s = _sim.ToPortrait(x, y);
            // the eyeball, unsquashed, feathered over the pixel inside the lids' edge (so a shut eye shows none)
            double inside = InsideDistance(_poly, x, y);
            onEdge = Math.Abs(inside) < 1;
            double cover = Math.Clamp(inside, 0, 1);
            if (cover > 0)
            {
                double k = _weight * cover;
                sx += k * (s.X - sx); sy += k * (s.Y - sy);
            }
            var (hh, vv) = _frame.Frame(s);
            if (hh <= 0 || hh >= Width) return;
            double zone = LidZoneShare * Width;
            double up = Along(_hp, _vp, hh), uc = Along(_hc, _vc, hh);
            double z = up + zone - uc, dist = vv - uc;
            if (uc < up && dist > 0 && dist < z)
            {
                // above the upper lid: the margin (band, from the portrait) pressed towards a thin lash line as far as the lid
                // has come down here (fading out at the corners, so the zones meet the warp there), the skin above it taking
                // the stretch (the warp stretches both evenly)
                double band = Math.Min(LashBandShare * Width, 0.5 * zone);
                double pressed = Math.Clamp((up - uc) / Math.Max(up - Along(_lhp, _lvp, hh), 1), 0, 1) * CornerTaper(hh);
                double a = Math.Min(band, (1 - pressed) * band + pressed * LashLineShare * Width);
                double wanted = dist < a ? dist * band / a : band + (dist - a) * (zone - band) / (z - a);
                double shift = _weight * (wanted - dist * zone / z);
                var (ux, uy) = _frame.Up; sx += shift * ux; sy += shift * uy;
                return;
            }
            double lowerZone = LowerZoneShare * Width;
            double lp = Along(_lhp, _lvp, hh), lc = Along(_lhc, _lvc, hh);
            double zl = lc - (lp - lowerZone), below = lc - vv;
            if (lc > lp && below > 0 && below < zl)
            {
                // below a lower lid that has come up: from a fringe further down, past the white of the eye
                // skipped as far as the lid has come up here (none at the corners)
                double fr = Math.Min(FringeShare * Width, 0.5 * lowerZone) * Math.Clamp((lc - lp) / Math.Max(Along(_hp, _vp, hh) - lp, 1), 0, 1) * CornerTaper(hh);
                double wanted = fr + below * (lowerZone - fr) / zl;
                double shift = -_weight * (wanted - below * lowerZone / zl);
                var (ux, uy) = _frame.Up; sx += shift * ux; sy += shift * uy;
            }
        }
    }
}
