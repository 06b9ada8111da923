using OpenCvSharp;
using Vivify.Animation;
using Vivify.Evaluation;
using Vivify.Faces;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class EvaluationTests(ITestOutputHelper output)
{
    [Fact]
    public void PsnrAndSsimAgreeWithTheirDefinitions()
    {
        using var original = Cv2.ImRead(TestData.Golden("images/cage.png"));
        using var a = new Mat();
        original.ConvertTo(a, MatType.CV_8UC3, 0.75); // values at most 192: an offset of 10 never clips
        Assert.Equal(ImageMetrics.MaxPsnr, ImageMetrics.Psnr(a, a));
        Assert.Equal(1.0, ImageMetrics.Ssim(a, a), 6);
        // a uniform offset of 10 grey levels (no clipping in this range): MSE 100, PSNR = 10 log10(255^2/100) = 28.13 dB
        using var b = new Mat();
        using var a16 = new Mat(); a.ConvertTo(a16, MatType.CV_16SC3);
        Cv2.Add(a16, Scalar.All(10), a16);
        a16.ConvertTo(b, MatType.CV_8UC3);
        var roi = new Rect(100, 200, 200, 200);
        Assert.Equal(28.13, ImageMetrics.Psnr(a, b, roi), 2);
        // SSIM: a brightness offset lowers only the luminance term a little; blur lowers structure a lot
        using var blurred = new Mat(); Cv2.GaussianBlur(a, blurred, new Size(9, 9), 3);
        double sOffset = ImageMetrics.Ssim(a, b, roi), sBlur = ImageMetrics.Ssim(a, blurred, roi);
        output.WriteLine($"SSIM offset {sOffset:0.000}, blur {sBlur:0.000}");
        Assert.InRange(sOffset, 0.95, 0.9999);
        Assert.True(sBlur < sOffset);
        Assert.Equal(ImageMetrics.Ssim(a, blurred), ImageMetrics.Ssim(blurred, a), 6);
    }

    [Fact]
    public void SelfReenactmentBeatsAStillCopyOnARealClip()
    {
        using var detector = new FaceDetector();
        var r = SelfReenactment.Run(TestData.Sample("franck.mp4"), 24, 2, new AnimationOptions(), detector);
        output.WriteLine($"franck 24-26 s: vivify {r.Method}; still {r.StillCopy}");
        Assert.Equal(48, r.Frames);
        Assert.Equal(47, r.PerFrame.Count);
        Assert.True(r.Method.PsnrFace > r.StillCopy.PsnrFace + 3);
        Assert.True(r.Method.SsimFace > r.StillCopy.SsimFace);
        Assert.True(r.Method.AkdPx < 1.5, $"AKD {r.Method.AkdPx:0.00} px");
    }
}
