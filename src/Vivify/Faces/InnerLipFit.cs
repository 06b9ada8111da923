// InnerLipFit: moves a still image's inner lips (points 60-67) onto a mouth opening that the 68-point
// model missed. dlib's model can read a mouth that shows its teeth (a smile in a small or soft image)
// as closed or open only part-way: on audrey.jpg its inner-lip line runs along the top of the teeth
// (dlib's own C++ code agrees: the golden file). Animated from there, the teeth are
// lip: they stretch down with the lower lip as the mouth opens, and the lips can never close over them.
// What it does: in a frame along the mouth's corners (48-54), per column between the inner corners,
// the run of teeth between the outer lips (pixels lighter than both lips and less red than either),
// extended through the dark of the mouth next to it, that meets the predicted inner lips;
// where such runs cover most of the mouth's middle, the inner lips 61-63 move up to their tops and
// 65-67 down to their bottoms (medians over a window around each point's column).
// Requires: a BGR image and its 68 landmarks. Guarantees: only points 61-63 and 65-67 move, each only
// along the mouth's normal and only outwards (the predicted opening is never closed); each lip keeps at
// least MinLipShare of the mouth's height; a mouth with no such opening (closed lips, a lip-gloss
// highlight away from the lips' meeting line, a grey-scale image or lips no redder than neutral: there
// teeth and lips differ only in lightness, which lit lips share),
// or narrower than MinMouthWidthPx, gets the landmarks back unchanged.
using OpenCvSharp;
using Vivify.Geometry;

namespace Vivify.Faces;

public static class InnerLipFit
{
    /// <summary>Mouths narrower than this (corner to corner, pixels) are left as predicted.</summary>
    public const double MinMouthWidthPx = 24;
    /// <summary>A tooth is at least this much lighter (Lab L, 0-255) than the lighter lip's median.</summary>
    public const double TeethLift = 15;
    /// <summary>...and less red (Lab a above neutral) than the less red lip by this share of its redness, 6 at least.</summary>
    public const double TeethRedDrop = 0.2;
    /// <summary>Lips redder than neutral by less than this (Lab a, 0-255 scale) are not read: in a grey-scale image teeth and
    /// lips differ only in lightness, and a lit lower lip is as light (the terminator's, made grey, read as teeth; so did
    /// a line drawing's paper-white lips).</summary>
    public const double MinLipRed = 6;
    /// <summary>The dark of the mouth is this much darker (L) than the lighter lip's median.</summary>
    public const double DarkDrop = 25;
    /// <summary>A run of teeth counts where it comes within this share of the outer mouth's height of the predicted opening.</summary>
    public const double MeetShare = 0.22;
    /// <summary>A point moves only where the opening's edge lies this far (pixels) beyond it.</summary>
    public const double MinShiftPx = 1;
    /// <summary>Share of the middle half of the mouth's columns whose opening must be found.</summary>
    public const double MinCoverage = 0.6;
    /// <summary>Each lip keeps at least this share of the outer mouth's height at that column.</summary>
    public const double MinLipShare = 0.15;

    /// <summary>The landmarks with the inner lips moved onto the opening the image shows (a copy; unchanged where there is none).</summary>
    public static PointD[] Refine(Mat bgr, ReadOnlySpan<PointD> landmarks) => Refine(bgr, landmarks, out _);

    /// <param name="widened">Whether the inner lips were moved.</param>
    public static PointD[] Refine(Mat bgr, ReadOnlySpan<PointD> landmarks, out bool widened)
    {
        widened = false;
        if (landmarks.Length != FaceLandmarks.Count) throw new ArgumentException($"expected {FaceLandmarks.Count} landmarks", nameof(landmarks));
        var l = landmarks.ToArray();
        var m = MouthPatch.Read(bgr, l);
        if (m is null) return l;
        int pw = m.Width, ph = m.Height;
        double vTop = m.VTop;

        // per column between the inner corners, the opening's top and bottom (v, pixel edges), or NaN
        double uFrom = m.U(l[60]), uTo = m.U(l[64]);
        int x0 = (int)Math.Ceiling(uFrom + 0.1 * (uTo - uFrom)), x1 = (int)Math.Floor(uTo - 0.1 * (uTo - uFrom));
        if (x1 - x0 < 4) return l;
        var tops = new double[pw]; var bottoms = new double[pw];
        Array.Fill(tops, double.NaN); Array.Fill(bottoms, double.NaN);
        for (int x = Math.Max(0, x0); x <= Math.Min(pw - 1, x1); x++)
        {
            double outerTop = At(m.UpperOuter, x) - vTop, outerBottom = At(m.LowerOuter, x) - vTop;
            double a = At(m.InnerUpper, x) - vTop, b = At(m.InnerLower, x) - vTop;
            double tol = Math.Max(2, MeetShare * (outerBottom - outerTop));
            int yFrom = Math.Max(0, (int)Math.Ceiling(outerTop) + 1), yTo = Math.Min(ph - 1, (int)Math.Floor(outerBottom) - 1);
            // the longest run of teeth (one-pixel breaks bridged) that meets the predicted opening, grown by tol
            int bestTop = -1, bestBottom = -2;
            for (int y = yFrom; y <= yTo; y++)
            {
                if (!m.Tooth(y, x)) continue;
                int end = y;
                while (end + 1 <= yTo && (m.Tooth(end + 1, x) || (end + 2 <= yTo && m.Tooth(end + 2, x)))) end += m.Tooth(end + 1, x) ? 1 : 2;
                bool meets = end + 0.5 >= a - tol && y - 0.5 <= b + tol;
                if (meets && end - y > bestBottom - bestTop) { bestTop = y; bestBottom = end; }
                y = end;
            }
            if (bestBottom - bestTop < 1) continue;
            while (bestTop - 1 >= yFrom && (m.Dark(bestTop - 1, x) || m.Tooth(bestTop - 1, x))) bestTop--;
            while (bestBottom + 1 <= yTo && (m.Dark(bestBottom + 1, x) || m.Tooth(bestBottom + 1, x))) bestBottom++;
            tops[x] = bestTop - 0.5 + vTop; bottoms[x] = bestBottom + 0.5 + vTop;
        }
        int mid0 = (int)Math.Ceiling(uFrom + 0.25 * (uTo - uFrom)), mid1 = (int)Math.Floor(uFrom + 0.75 * (uTo - uFrom));
        int found = 0, total = 0;
        for (int x = Math.Max(0, mid0); x <= Math.Min(pw - 1, mid1); x++) { total++; if (!double.IsNaN(tops[x])) found++; }
        if (total == 0 || found < MinCoverage * total) return l;

        // each inner point moves out to the median edge over a window around its column
        int half = Math.Max(2, (int)Math.Round(0.12 * m.MouthWidth));
        var moved = (PointD[])l.Clone();
        foreach (var (up, lo) in new[] { (61, 67), (62, 66), (63, 65) })
        {
            foreach (var (k, edges, upper) in new[] { (up, tops, true), (lo, bottoms, false) })
            {
                int cx = (int)Math.Round(m.U(l[k]));
                var window = new List<double>();
                for (int x = cx - half; x <= cx + half; x++) if (x >= 0 && x < pw && !double.IsNaN(edges[x])) window.Add(edges[x]);
                if (window.Count < Math.Max(3, half / 2)) continue;
                double target = Median(window), v = m.V(l[k]), u = m.U(l[k]);
                double outerTop = At(m.UpperOuter, u), outerBottom = At(m.LowerOuter, u), lip = MinLipShare * (outerBottom - outerTop);
                target = upper ? Math.Max(target, outerTop + lip) : Math.Min(target, outerBottom - lip);
                if (upper ? target < v - MinShiftPx : target > v + MinShiftPx) moved[k] = l[k] + (target - v) * m.Ey;
            }
        }
        double before = m.V(l[66]) - m.V(l[62]), after = m.V(moved[66]) - m.V(moved[62]);
        if (after - before < 1) return l;
        widened = true;
        return moved;
    }

    /// <summary>
    /// Share of the pixels between the inner lips (columns between the inner corners) that are teeth by the rule above:
    /// what an open mouth shows, teeth or not (the dark of the mouth, or lip where the model's inner lips lie inside the
    /// lips); 0 where the mouth cannot be read.
    /// </summary>
    public static double TeethShare(Mat bgr, ReadOnlySpan<PointD> landmarks)
    {
        if (landmarks.Length != FaceLandmarks.Count) throw new ArgumentException($"expected {FaceLandmarks.Count} landmarks", nameof(landmarks));
        var l = landmarks.ToArray();
        var m = MouthPatch.Read(bgr, l);
        if (m is null) return 0;
        int teeth = 0, all = 0;
        for (int x = Math.Max(0, (int)Math.Ceiling(m.U(l[60]))); x <= Math.Min(m.Width - 1, (int)Math.Floor(m.U(l[64]))); x++)
        {
            double a = At(m.InnerUpper, x) - m.VTop, b = At(m.InnerLower, x) - m.VTop;
            for (int y = Math.Max(0, (int)Math.Ceiling(a)); y <= Math.Min(m.Height - 1, (int)Math.Floor(b)); y++)
            {
                all++;
                if (m.Tooth(y, x)) teeth++;
            }
        }
        return all == 0 ? 0 : teeth / (double)all;
    }

    /// <summary>
    /// The mouth resampled in Lab along its corners (48 to 54; one pixel per pixel, v pointing down to the lower lip), its
    /// lip contours as polylines v(u), and the colours that tell teeth, lip and the dark of the mouth apart.
    /// </summary>
    private sealed class MouthPatch
    {
        public required int Width { get; init; }
        public required int Height { get; init; }
        public required double VTop { get; init; }
        public required double MouthWidth { get; init; }
        public required PointD C0 { get; init; }
        public required PointD Ex { get; init; }
        public required PointD Ey { get; init; }
        public required Contour UpperOuter { get; init; }
        public required Contour LowerOuter { get; init; }
        public required Contour InnerUpper { get; init; }
        public required Contour InnerLower { get; init; }
        public required Vec3b[] Lab { get; init; }
        private double _lipLight, _teethRedMax;

        public double U(PointD p) => (p.X - C0.X) * Ex.X + (p.Y - C0.Y) * Ex.Y;
        public double V(PointD p) => (p.X - C0.X) * Ey.X + (p.Y - C0.Y) * Ey.Y;
        private Vec3b Px(int y, int x) => Lab[y * Width + x];

        /// <summary>A tooth stands out from both lips: lighter than the lighter, less red than the less red.</summary>
        public bool Tooth(int y, int x)
        {
            var p = Px(y, x);
            return p.Item0 >= _lipLight + TeethLift && p.Item1 - 128.0 <= _teethRedMax;
        }

        public bool Dark(int y, int x) => Px(y, x).Item0 <= _lipLight - DarkDrop;

        /// <summary>The patch, or null for a mouth too small or whose lips cannot be read (a drawing's paper-white lips).</summary>
        public static MouthPatch? Read(Mat bgr, PointD[] l)
        {
            var c0 = l[48]; var axis = l[54] - c0;
            double width = axis.Length;
            if (width < MinMouthWidthPx) return null;
            var ex = (1 / width) * axis;
            var ey = new PointD(-ex.Y, ex.X);
            var down = l[57] - l[51];
            if (ey.X * down.X + ey.Y * down.Y < 0) ey = -1 * ey;
            double Uf(PointD p) => (p.X - c0.X) * ex.X + (p.Y - c0.Y) * ex.Y;
            double Vf(PointD p) => (p.X - c0.X) * ey.X + (p.Y - c0.Y) * ey.Y;
            var upperOuter = Line(l, [48, 49, 50, 51, 52, 53, 54], Uf, Vf);
            var lowerOuter = Line(l, [48, 59, 58, 57, 56, 55, 54], Uf, Vf);
            double vTop = upperOuter.V.Min() - 2, vBottom = lowerOuter.V.Max() + 2;
            int pw = (int)Math.Ceiling(width) + 1, ph = (int)Math.Ceiling(vBottom - vTop) + 1;
            if (ph < 4) return null;
            using var lab = new Mat();
            using (var patch = new Mat())
            {
                using var m = new Mat(2, 3, MatType.CV_64FC1);
                m.Set(0, 0, ex.X); m.Set(0, 1, ey.X); m.Set(0, 2, c0.X + vTop * ey.X);
                m.Set(1, 0, ex.Y); m.Set(1, 1, ey.Y); m.Set(1, 2, c0.Y + vTop * ey.Y);
                Cv2.WarpAffine(bgr, patch, m, new Size(pw, ph), InterpolationFlags.Linear | InterpolationFlags.WarpInverseMap, BorderTypes.Replicate);
                Cv2.CvtColor(patch, lab, ColorConversionCodes.BGR2Lab);
            }
            lab.GetArray(out Vec3b[] lp);
            var mp = new MouthPatch
            {
                Width = pw, Height = ph, VTop = vTop, MouthWidth = width, C0 = c0, Ex = ex, Ey = ey, Lab = lp,
                UpperOuter = upperOuter, LowerOuter = lowerOuter,
                InnerUpper = Line(l, [60, 61, 62, 63, 64], Uf, Vf), InnerLower = Line(l, [60, 67, 66, 65, 64], Uf, Vf),
            };
            return mp.ReadLips(l) ? mp : null;
        }

        /// <summary>
        /// The lips' colours: the upper lip's middle half (between its outer and inner edges), and the lower lip's quarter
        /// next to its outer edge (the lower lip's inner part may be the teeth the model missed), over the middle columns.
        /// </summary>
        private bool ReadLips(PointD[] l)
        {
            var upperLip = new List<Vec3b>(); var lowerLip = new List<Vec3b>();
            for (int x = (int)Math.Ceiling(U(l[61])); x <= (int)Math.Floor(U(l[63])); x++)
            {
                if (x < 0 || x >= Width) continue;
                double top = At(UpperOuter, x) - VTop, bottom = At(InnerUpper, x) - VTop;
                Collect(upperLip, x, top + 0.25 * (bottom - top), top + 0.75 * (bottom - top));
                double inner = At(InnerLower, x) - VTop, outer = At(LowerOuter, x) - VTop;
                Collect(lowerLip, x, outer - 0.3 * (outer - inner), outer - 0.05 * (outer - inner));
            }
            if (upperLip.Count < 12 || lowerLip.Count < 6) return false;
            _lipLight = Math.Max(Median(upperLip.Select(p => (double)p.Item0)), Median(lowerLip.Select(p => (double)p.Item0)));
            double lipRed = Math.Min(Median(upperLip.Select(p => p.Item1 - 128.0)), Median(lowerLip.Select(p => p.Item1 - 128.0)));
            if (lipRed < MinLipRed) return false;
            _teethRedMax = lipRed - Math.Max(6, TeethRedDrop * lipRed);
            return true;

            void Collect(List<Vec3b> into, int x, double from, double to)
            {
                for (int y = (int)Math.Ceiling(from); y <= (int)Math.Floor(to); y++) if (y >= 0 && y < Height) into.Add(Px(y, x));
            }
        }
    }

    /// <summary>A lip contour as a polyline v(u) in the mouth's frame.</summary>
    private sealed record Contour(double[] U, double[] V);

    private static Contour Line(PointD[] l, int[] idx, Func<PointD, double> u, Func<PointD, double> v)
    {
        var pts = idx.Select(i => (U: u(l[i]), V: v(l[i]))).OrderBy(p => p.U).ToArray();
        return new Contour(pts.Select(p => p.U).ToArray(), pts.Select(p => p.V).ToArray());
    }

    private static double At(Contour line, double u) => Polyline.At(line.U, line.V, u);

    private static double Median(IEnumerable<double> values) { var v = values.Order().ToList(); return v[v.Count / 2]; }
}
