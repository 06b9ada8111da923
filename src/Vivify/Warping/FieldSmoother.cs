// FieldSmoother: blurs a 2-channel displacement field, sampled on a SampleGrid, at a few fixed
// radii (the "levels" of the confidence-aware warp).
// Requires: a grid of at least 2x2 samples and increasing positive nominal radii in
// full-resolution pixels.
// Guarantees:
//  - Kernel: a disk of radius r is approximated by a kernel with the same second moment
//    (per-axis sigma = r / 2): a Gaussian when sigma <= 2.5 grid samples, otherwise three box
//    passes whose odd widths give the closest variance. RadiiPx holds each level's effective
//    radius, 2 * sigma (mean of the axes) in full-resolution pixels, from the kernel actually used.
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
    private sealed record Kernel(bool Gaussian, double SigmaX, double SigmaY, int[] BoxX, int[] BoxY, int ReachX, int ReachY);

    public SampleGrid Grid { get; }
    public double[] RadiiPx { get; }
    private readonly Kernel[] _kernels;
    private readonly int _padX, _padY, _pw, _ph;
    private readonly Mat _padded, _t1, _t2;
    private readonly Mat[] _levels;

    public FieldSmoother(SampleGrid grid, IReadOnlyList<double> nominalRadiiPx)
    {
        Grid = grid;
        _kernels = nominalRadiiPx.Select(r => MakeKernel(r / (2 * grid.Sx), r / (2 * grid.Sy))).ToArray();
        RadiiPx = _kernels.Select(k => (EffectiveSigma(k, true) * grid.Sx + EffectiveSigma(k, false) * grid.Sy)).ToArray();
        _padX = _kernels.Max(k => k.ReachX) + 1;
        _padY = _kernels.Max(k => k.ReachY) + 1;
        _pw = grid.Width + 2 * _padX; _ph = grid.Height + 2 * _padY;
        _padded = new Mat(_ph, _pw, MatType.CV_32FC2);
        _t1 = new Mat(_ph, _pw, MatType.CV_32FC2);
        _t2 = new Mat(_ph, _pw, MatType.CV_32FC2);
        _levels = _kernels.Select(_ => new Mat(_ph, _pw, MatType.CV_32FC2)).ToArray();
    }

    public int LevelCount => _levels.Length;

    private static Kernel MakeKernel(double sx, double sy)
    {
        if (Math.Min(sx, sy) <= 2.5)
        {
            int rx = (int)Math.Ceiling(3 * sx), ry = (int)Math.Ceiling(3 * sy);
            return new Kernel(true, sx, sy, [], [], rx, ry);
        }
        var bx = Boxes(sx); var by = Boxes(sy);
        return new Kernel(false, sx, sy, bx, by, bx.Sum(w => w / 2), by.Sum(w => w / 2));
    }

    /// <summary>Three odd box widths whose summed variance (w^2 - 1) / 12 is closest to sigma^2.</summary>
    private static int[] Boxes(double sigma)
    {
        double target = sigma * sigma;
        int w = 1;
        while (3 * ((w + 2) * (w + 2) - 1) / 12.0 <= target) w += 2;
        int[] best = [w, w, w]; double bestErr = double.MaxValue;
        for (int up = 0; up <= 3; up++)
        {
            double v = (up * ((w + 2) * (w + 2) - 1) + (3 - up) * (w * w - 1)) / 12.0;
            if (Math.Abs(v - target) < bestErr)
            {
                bestErr = Math.Abs(v - target);
                best = [.. Enumerable.Repeat(w + 2, up), .. Enumerable.Repeat(w, 3 - up)];
            }
        }
        return best;
    }

    private static double EffectiveSigma(Kernel k, bool x)
    {
        if (k.Gaussian) return x ? k.SigmaX : k.SigmaY;
        return Math.Sqrt((x ? k.BoxX : k.BoxY).Sum(w => (w * w - 1) / 12.0));
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
        for (int l = 0; l < _levels.Length; l++)
        {
            var k = _kernels[l];
            if (k.Gaussian)
                Cv2.GaussianBlur(_padded, _levels[l], new Size(2 * k.ReachX + 1, 2 * k.ReachY + 1), k.SigmaX, k.SigmaY, BorderTypes.Replicate);
            else
            {
                Cv2.Blur(_padded, _t1, new Size(k.BoxX[0], k.BoxY[0]), new Point(-1, -1), BorderTypes.Replicate);
                Cv2.Blur(_t1, _t2, new Size(k.BoxX[1], k.BoxY[1]), new Point(-1, -1), BorderTypes.Replicate);
                Cv2.Blur(_t2, _levels[l], new Size(k.BoxX[2], k.BoxY[2]), new Point(-1, -1), BorderTypes.Replicate);
            }
        }
    }

    private static unsafe void Reflect(float* dst, float* edge, float* mirror, int n)
    {
        for (int i = 0; i < n; i++) dst[i] = 2 * edge[i] - mirror[i];
    }

    /// <summary>Row j of level l: interleaved (dx, dy) for samples 0 .. Grid.Width - 1.</summary>
    public unsafe float* LevelRow(int l, int j) => (float*)_levels[l].Data + ((long)(j + _padY) * _pw + _padX) * 2;

    /// <summary>
    /// Which levels to blend for radius r: (1 - t) * level lo + t * level lo + 1 (t = 0 when r is
    /// at or beyond an end, then only lo is used).
    /// </summary>
    public static void Bracket(double[] radii, double r, out int lo, out float t)
    {
        int n = radii.Length;
        if (n == 1 || r <= radii[0]) { lo = 0; t = 0; return; }
        if (r >= radii[n - 1]) { lo = n - 1; t = 0; return; }
        lo = 0;
        while (r >= radii[lo + 1]) lo++;
        t = (float)((r - radii[lo]) / (radii[lo + 1] - radii[lo]));
    }

    public void Dispose()
    {
        _padded.Dispose(); _t1.Dispose(); _t2.Dispose();
        foreach (var m in _levels) m.Dispose();
    }
}
