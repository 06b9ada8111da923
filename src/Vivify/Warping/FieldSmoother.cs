// FieldSmoother: blurs a 2-channel displacement field, sampled on a SampleGrid, at a few fixed
// radii (the "levels" of the confidence-aware warp).
// Requires: a grid of at least 2x2 samples and increasing positive nominal radii in
// full-resolution pixels.
// Guarantees:
//  - Kernel: a disk of radius r is approximated by a kernel with the same second moment
//    (per-axis sigma = r / 2). Levels are a cascade: level 0 is a Gaussian (sigma <= 2.5 grid
//    samples) or three box passes; level k is level k-1 blurred by one more box, of odd width
//    giving the closest missing variance (variances add). So level k's kernel is a box smoothed
//    by the earlier steps: smooth, compact, near-isotropic for the small levels, squarish for the
//    largest. RadiiPx holds each level's effective radius, 2 * sigma (mean of the axes) in
//    full-resolution pixels, from the kernels actually used.
//  - Borders: before blurring, the field is extended past each border by point reflection,
//    D(-k) = 2 D(0) - D(k) (separably in x, then y), wide enough for the whole kernel. A symmetric
//    kernel then leaves every border sample's value unchanged when the field is constant or
//    linear along that border, in particular a border that does not move (D = 0 on it) stays
//    exactly pinned, and the blurred field keeps its slope into the border (no pull, no kink).
//  - Smooth() reuses all Mats across calls; LevelRow() points into the blurred level k.
using OpenCvSharp;

namespace Vivify.Warping;

internal sealed class FieldSmoother : IDisposable
{
    // One blur step: a Gaussian (level 0, when small) or box passes, applied to the previous level.
    private sealed record Step(bool Gaussian, double SigmaX, double SigmaY, int[] BoxX, int[] BoxY, int ReachX, int ReachY);

    public SampleGrid Grid { get; }
    public double[] RadiiPx { get; }
    private readonly Step[] _steps;
    private readonly int _padX, _padY, _pw, _ph;
    private readonly Mat _padded, _t1, _t2;
    private readonly Mat[] _levels;
    private readonly IntPtr[] _levelData;
    private readonly List<Pass> _passes;

    public FieldSmoother(SampleGrid grid, IReadOnlyList<double> nominalRadiiPx)
    {
        Grid = grid;
        // Cascade: level 0 = kernel for its radius; level k = level k-1 blurred by one box whose
        // variance is the difference (variances add under convolution).
        _steps = new Step[nominalRadiiPx.Count];
        RadiiPx = new double[_steps.Length];
        double varX = 0, varY = 0;
        for (int l = 0; l < _steps.Length; l++)
        {
            double sx = nominalRadiiPx[l] / (2 * grid.Sx), sy = nominalRadiiPx[l] / (2 * grid.Sy);
            Step st;
            if (l == 0 && Math.Min(sx, sy) <= 2.5)
                st = new Step(true, sx, sy, [], [], (int)Math.Ceiling(3 * sx), (int)Math.Ceiling(3 * sy));
            else if (l == 0)
            {
                var bx = Boxes(sx * sx, 3); var by = Boxes(sy * sy, 3);
                st = new Step(false, sx, sy, bx, by, bx.Sum(w => w / 2), by.Sum(w => w / 2));
            }
            else
            {
                var bx = Boxes(sx * sx - varX, 1); var by = Boxes(sy * sy - varY, 1);
                st = new Step(false, sx, sy, bx, by, bx.Sum(w => w / 2), by.Sum(w => w / 2));
            }
            _steps[l] = st;
            varX += st.Gaussian ? sx * sx : st.BoxX.Sum(w => (w * w - 1) / 12.0);
            varY += st.Gaussian ? sy * sy : st.BoxY.Sum(w => (w * w - 1) / 12.0);
            RadiiPx[l] = Math.Sqrt(varX) * grid.Sx + Math.Sqrt(varY) * grid.Sy;   // 2 sigma, mean of the axes
        }
        _padX = _steps.Sum(k => k.ReachX) + 1;
        _padY = _steps.Sum(k => k.ReachY) + 1;
        _pw = grid.Width + 2 * _padX; _ph = grid.Height + 2 * _padY;
        _padded = new Mat(_ph, _pw, MatType.CV_32FC2, Scalar.All(0));
        _t1 = new Mat(_ph, _pw, MatType.CV_32FC2, Scalar.All(0));
        _t2 = new Mat(_ph, _pw, MatType.CV_32FC2, Scalar.All(0));
        _levels = _steps.Select(_ => new Mat(_ph, _pw, MatType.CV_32FC2, Scalar.All(0))).ToArray();
        _levelData = _levels.Select(m => m.Data).ToArray();
        _passes = MakePasses();
    }

    public int LevelCount => _levels.Length;

    /// <summary>
    /// n odd box widths (at least 3 when n = 1, so every cascade step blurs) whose summed
    /// variance (w^2 - 1) / 12 is closest to the target.
    /// </summary>
    private static int[] Boxes(double target, int n)
    {
        int w = n == 1 ? 3 : 1;
        while (n * ((w + 2) * (w + 2) - 1) / 12.0 <= target) w += 2;
        int[] best = Enumerable.Repeat(w, n).ToArray(); double bestErr = double.MaxValue;
        for (int up = 0; up <= n; up++)
        {
            double v = (up * ((w + 2) * (w + 2) - 1) + (n - up) * (w * w - 1)) / 12.0;
            if (Math.Abs(v - target) < bestErr)
            {
                bestErr = Math.Abs(v - target);
                best = [.. Enumerable.Repeat(w + 2, up), .. Enumerable.Repeat(w, n - up)];
            }
        }
        return best;
    }

    /// <summary>Blurs the field (dx, dy: row-major, Grid.Width per row) at every level.</summary>
    public unsafe void Smooth(float* dx, float* dy)
    {
        int w = Grid.Width, h = Grid.Height, px = _padX, py = _padY, pw = _pw;
        float* pad = (float*)_padded.Data;
        // interior rows, extended in x by point reflection
        Parallel.For(0, h, j =>
        {
            float* row = pad + (long)(j + py) * pw * 2;
            float* sx = dx + (long)j * w, sy = dy + (long)j * w;
            for (int i = 0; i < w; i++) { row[2 * (i + px)] = sx[i]; row[2 * (i + px) + 1] = sy[i]; }
            float l0x = sx[0], l0y = sy[0], r0x = sx[w - 1], r0y = sy[w - 1];
            for (int k = 1; k <= px; k++)
            {
                int li = Math.Min(k, w - 1), ri = Math.Max(w - 1 - k, 0);
                row[2 * (px - k)] = 2 * l0x - sx[li]; row[2 * (px - k) + 1] = 2 * l0y - sy[li];
                row[2 * (px + w - 1 + k)] = 2 * r0x - sx[ri]; row[2 * (px + w - 1 + k) + 1] = 2 * r0y - sy[ri];
            }
        });
        // rows above and below, by point reflection of whole (extended) rows
        for (int k = 1; k <= py; k++)
        {
            int ti = Math.Min(k, h - 1), bi = Math.Max(h - 1 - k, 0);
            Reflect(pad + (long)(py - k) * pw * 2, pad + (long)py * pw * 2, pad + (long)(py + ti) * pw * 2, 2 * pw);
            Reflect(pad + (long)(py + h - 1 + k) * pw * 2, pad + (long)(py + h - 1) * pw * 2, pad + (long)(py + bi) * pw * 2, 2 * pw);
        }
        foreach (var pass in _passes) pass.Run();
        for (int l = 0; l < _levels.Length; l++)
            if (_levels[l].Data != _levelData[l]) throw new InvalidOperationException("blur reallocated a level");
    }

    /// <summary>
    /// One blur pass between ROIs: each pass only computes the region that the later passes
    /// still read (the interior grown by their remaining reach); OpenCV's filters read the
    /// source's parent Mat past the ROI, where the earlier passes left valid values.
    /// </summary>
    private sealed class Pass(Mat src, Mat dst, Step step, int box) : IDisposable
    {
        public void Run()
        {
            if (step.Gaussian)
                Cv2.GaussianBlur(src, dst, new Size(2 * step.ReachX + 1, 2 * step.ReachY + 1), step.SigmaX, step.SigmaY, BorderTypes.Replicate);
            else
                Cv2.Blur(src, dst, new Size(step.BoxX[box], step.BoxY[box]), new Point(-1, -1), BorderTypes.Replicate);
        }
        public void Dispose() { src.Dispose(); dst.Dispose(); }
    }

    private List<Pass> MakePasses()
    {
        var list = new List<(Mat src, Mat dst, Step step, int box, int rx, int ry)>();
        for (int l = 0; l < _steps.Length; l++)
        {
            var k = _steps[l];
            var src = l == 0 ? _padded : _levels[l - 1];
            if (k.Gaussian) { list.Add((src, _levels[l], k, 0, k.ReachX, k.ReachY)); continue; }
            for (int b = 0; b < k.BoxX.Length; b++)
            {
                var dst = b == k.BoxX.Length - 1 ? _levels[l] : (b % 2 == 0 ? _t1 : _t2);
                list.Add((src, dst, k, b, k.BoxX[b] / 2, k.BoxY[b] / 2));
                src = dst;
            }
        }
        var passes = new List<Pass>();
        for (int p = 0; p < list.Count; p++)
        {
            int mx = 1, my = 1;
            for (int q = p + 1; q < list.Count; q++) { mx += list[q].rx; my += list[q].ry; }
            var rect = new Rect(_padX - mx, _padY - my, Grid.Width + 2 * mx, Grid.Height + 2 * my);
            passes.Add(new Pass(new Mat(list[p].src, rect), new Mat(list[p].dst, rect), list[p].step, list[p].box));
        }
        return passes;
    }

    private static unsafe void Reflect(float* dst, float* edge, float* mirror, int n)
    {
        for (int i = 0; i < n; i++) dst[i] = 2 * edge[i] - mirror[i];
    }

    /// <summary>Row j of level l: interleaved (dx, dy) for samples 0 .. Grid.Width - 1.</summary>
    public unsafe float* LevelRow(int l, int j) => (float*)_levelData[l] + ((long)(j + _padY) * _pw + _padX) * 2;

    /// <summary>
    /// Which levels to blend for radius r: (1 - t) * level lo + t * level lo + 1 (t = 0 when r is
    /// at or beyond an end, then only lo is used). t is the smoothstep of the linear fraction, so
    /// the blend has zero slope in r at every level radius: the field stays C1 across the
    /// contours where the bracket changes.
    /// </summary>
    public static void Bracket(double[] radii, double r, out int lo, out float t)
    {
        int n = radii.Length;
        if (n == 1 || r <= radii[0]) { lo = 0; t = 0; return; }
        if (r >= radii[n - 1]) { lo = n - 1; t = 0; return; }
        lo = 0;
        while (r >= radii[lo + 1]) lo++;
        double u = (r - radii[lo]) / (radii[lo + 1] - radii[lo]);
        t = (float)(u * u * (3 - 2 * u));
    }

    public void Dispose()
    {
        foreach (var p in _passes) p.Dispose();
        _padded.Dispose(); _t1.Dispose(); _t2.Dispose();
        foreach (var m in _levels) m.Dispose();
    }
}
