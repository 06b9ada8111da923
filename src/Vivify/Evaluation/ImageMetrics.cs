// ImageMetrics: PSNR and SSIM between two images of the same size, over the whole image or a
// rectangle. PSNR over all three 8-bit channels (peak 255); SSIM (Wang et al. 2004) on the
// luminance (BT.601 grey) with an 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, the mean
// of the SSIM map over the region. Guarantees: identical images give PSNR = +infinity (reported
// as 100 dB) and SSIM = 1.
using OpenCvSharp;

namespace Vivify.Evaluation;

public static class ImageMetrics
{
    public const double MaxPsnr = 100;

    public static double Psnr(Mat a, Mat b, Rect? region = null)
    {
        using var ra = Crop(a, region); using var rb = Crop(b, region);
        using var diff = new Mat();
        Cv2.Absdiff(ra, rb, diff);
        using var d32 = new Mat();
        diff.ConvertTo(d32, MatType.CV_32F);
        double mse = SumSquares(d32) / ((double)d32.Total() * d32.Channels());
        return mse <= 1e-10 ? MaxPsnr : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    private static double SumSquares(Mat m)
    {
        using var sq = m.Mul(m).ToMat();
        var s = Cv2.Sum(sq);
        return s.Val0 + s.Val1 + s.Val2 + s.Val3;
    }

    public static double Ssim(Mat a, Mat b, Rect? region = null)
    {
        using var ga = Grey(a); using var gb = Grey(b);
        using var map = SsimMap(ga, gb);
        using var r = Crop(map, region);
        return Cv2.Mean(r).Val0;
    }

    private static Mat Grey(Mat m)
    {
        var g = new Mat();
        if (m.Channels() == 3) Cv2.CvtColor(m, g, ColorConversionCodes.BGR2GRAY); else m.CopyTo(g);
        var f = new Mat();
        g.ConvertTo(f, MatType.CV_32F);
        g.Dispose();
        return f;
    }

    private static Mat SsimMap(Mat x, Mat y)
    {
        const double c1 = 6.5025, c2 = 58.5225; // (0.01*255)^2, (0.03*255)^2
        var k = new Size(11, 11);
        using var mx = new Mat(); using var my = new Mat();
        Cv2.GaussianBlur(x, mx, k, 1.5); Cv2.GaussianBlur(y, my, k, 1.5);
        using var xx = x.Mul(x).ToMat(); using var yy = y.Mul(y).ToMat(); using var xy = x.Mul(y).ToMat();
        using var sxx = new Mat(); using var syy = new Mat(); using var sxy = new Mat();
        Cv2.GaussianBlur(xx, sxx, k, 1.5); Cv2.GaussianBlur(yy, syy, k, 1.5); Cv2.GaussianBlur(xy, sxy, k, 1.5);
        using var mx2 = mx.Mul(mx).ToMat(); using var my2 = my.Mul(my).ToMat(); using var mxy = mx.Mul(my).ToMat();
        using var vx = (sxx - mx2).ToMat(); using var vy = (syy - my2).ToMat(); using var cxy = (sxy - mxy).ToMat();
        using var num1 = new Mat(); using var num2 = new Mat(); using var den1 = new Mat(); using var den2 = new Mat();
        mxy.ConvertTo(num1, MatType.CV_32F, 2, c1); cxy.ConvertTo(num2, MatType.CV_32F, 2, c2);
        Cv2.Add(mx2, my2, den1); Cv2.Add(den1, Scalar.All(c1), den1);
        Cv2.Add(vx, vy, den2); Cv2.Add(den2, Scalar.All(c2), den2);
        using var num = num1.Mul(num2).ToMat(); using var den = den1.Mul(den2).ToMat();
        var map = new Mat();
        Cv2.Divide(num, den, map);
        return map;
    }

    private static Mat Crop(Mat m, Rect? region)
    {
        if (region is not { } r) return m.Clone();
        r = r.Intersect(new Rect(0, 0, m.Width, m.Height));
        return new Mat(m, r).Clone();
    }
}
