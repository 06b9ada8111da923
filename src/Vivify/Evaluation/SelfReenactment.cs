// SelfReenactment: measures the animation against ground truth. The first frame of a real
// talking-face clip is the portrait; the clip itself is the driver; each output frame is compared
// with the real frame: PSNR and SSIM over the frame and over the face box (the predictor's box
// fitted to the real frame's landmarks), and the mean landmark distance (AKD: landmarks found by
// our own engine on the output and on the real frame, in pixels and as a share of the real
// frame's inter-ocular distance). A still copy of the first frame is scored alongside, for scale.
// Guarantees: streams (frames are decoded, compared and dropped); frame 0 (the portrait itself)
// is left out of the means; optional side-by-side video: portrait | driver | result | |difference| x4.
using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;

namespace Vivify.Evaluation;

/// <summary>One frame's scores; Expression: how far the real frame's expression is from the portrait's (largest change of
/// brow raise or mouth width, in IODs); MouthGap: how much wider the real frame's inner lips are parted than the portrait's (IODs).</summary>
public sealed record FrameScore(int Frame, double PsnrFrame, double PsnrFace, double SsimFrame, double SsimFace, double AkdPx, double AkdIod,
    double Expression = 0, double MouthGap = 0);

public sealed record ScoreSummary(double PsnrFrame, double PsnrFace, double SsimFrame, double SsimFace, double AkdPx, double AkdIod)
{
    public static ScoreSummary Mean(IReadOnlyList<FrameScore> s) => new(
        s.Average(x => x.PsnrFrame), s.Average(x => x.PsnrFace), s.Average(x => x.SsimFrame),
        s.Average(x => x.SsimFace), s.Average(x => x.AkdPx), s.Average(x => x.AkdIod));
}

public sealed record SelfReenactmentResult(string Video, double Start, double Duration, int Frames,
    ScoreSummary Method, ScoreSummary StillCopy, IReadOnlyList<FrameScore> PerFrame, IReadOnlyList<FrameScore> StillPerFrame, int ExpansionPoints)
{
    /// <summary>Frames whose expression differs from the portrait's by at least this (IODs) count as expressive.</summary>
    public const double ExpressiveThreshold = 0.04;
    public IReadOnlyList<FrameScore> ExpressiveFrames => PerFrame.Where(f => f.Expression >= ExpressiveThreshold).ToList();
    /// <summary>Means over the expressive frames (null when there are none).</summary>
    public ScoreSummary? Expressive => ExpressiveFrames is { Count: > 0 } e ? ScoreSummary.Mean(e) : null;
    /// <summary>Frames whose inner lips part at least this much wider than the portrait's (IODs) count as open-mouthed
    /// (where the mouth stage shows the driver's interior fully).</summary>
    public const double OpenMouthThreshold = Mouth.MouthTransfer.OpenMouthGap;
    public IReadOnlyList<FrameScore> OpenMouthFrames => PerFrame.Where(f => f.MouthGap >= OpenMouthThreshold).ToList();
    public ScoreSummary? OpenMouth => OpenMouthFrames is { Count: > 0 } o ? ScoreSummary.Mean(o) : null;
}

public static class SelfReenactment
{
    public static SelfReenactmentResult Run(string video, double start, double? duration, AnimationOptions options, FaceDetector detector,
        string? sideBySide = null, Action<string, int, int>? progress = null)
    {
        var driver = DriverTrack.Analyse(video, detector, DriverTrack.Options.For(options) with { Start = start, Duration = duration },
            n => progress?.Invoke("tracking", n, 0));
        using var portrait = driver.ReadFrame(0);        // the clip's first frame, as analysed
        using var animator = new PortraitAnimator(portrait, video, driver, detector, options with { NeutralFrame = options.NeutralFrame ?? 0 });
        var scores = new List<FrameScore>();
        var still = new List<FrameScore>();
        FfmpegVideoWriter? writer = sideBySide is null ? null : new FfmpegVideoWriter(sideBySide, portrait.Width * 4, portrait.Height, driver.Fps);
        var stillLandmarks = LandmarksOn(portrait, driver.Landmarks[0], detector);
        try
        {
            foreach (var (i, output, real) in animator.RenderAll())
            {
                if (i > 0)
                {
                    var realLm = LandmarksOn(real, driver.Landmarks[i], detector);
                    var box = FaceRect(realLm, real);
                    scores.Add(Score(i, output, real, box, LandmarksOn(output, driver.Landmarks[i], detector), realLm)
                        with
                        {
                            Expression = ExpressionChange(driver.Landmarks[0], driver.Landmarks[i]),
                            MouthGap = Mouth.MouthTransfer.Gap(driver.Landmarks[i]) - Mouth.MouthTransfer.Gap(driver.Landmarks[0]),
                        });
                    still.Add(Score(i, portrait, real, box, stillLandmarks, realLm));
                }
                if (writer is not null) WriteSideBySide(writer, portrait, real, output);
                progress?.Invoke("scoring", i + 1, driver.FrameCount);
            }
            writer?.Complete();
        }
        finally { writer?.Dispose(); }
        if (scores.Count == 0) throw new VivifyException(video, "the chosen part has fewer than two frames");
        return new SelfReenactmentResult(video, start, driver.FrameCount / driver.Fps, driver.FrameCount,
            ScoreSummary.Mean(scores), ScoreSummary.Mean(still), scores, still, animator.Points.ExpansionCount);
    }

    /// <summary>Largest change of brow raise or mouth width between two frames' landmarks, in IODs.</summary>
    public static double ExpressionChange(PointD[] from, PointD[] to) => Math.Max(
        Math.Abs(CrossReenactment.Brow(to) - CrossReenactment.Brow(from)), Math.Abs(CrossReenactment.Smile(to) - CrossReenactment.Smile(from)));

    private static FrameScore Score(int i, Mat output, Mat real, Rect face, PointD[] outLm, PointD[] realLm)
    {
        double akd = outLm.Zip(realLm, PointD.Distance).Average();
        return new FrameScore(i, ImageMetrics.Psnr(output, real), ImageMetrics.Psnr(output, real, face),
            ImageMetrics.Ssim(output, real), ImageMetrics.Ssim(output, real, face), akd, akd / FaceLandmarks.InterOcularDistance(realLm));
    }

    /// <summary>Our engine's landmarks on an image, starting from the box the given landmarks give (the evaluations' one reading rule).</summary>
    internal static PointD[] LandmarksOn(Mat image, PointD[] near, FaceDetector detector)
    {
        var intensity = IntensityImage.FromMat(image);
        var box = FaceLandmarks.BoxFor(near, detector.Predictor.InitialShape);
        return detector.Calibrate(intensity, box, requireFace: false)!.Landmarks;
    }

    private static Rect FaceRect(PointD[] lm, Mat img)
    {
        var b = FaceLandmarks.BoxFor(lm, ShapePredictor.Default.InitialShape);
        return new Rect(b.Left, b.Top, b.Width, b.Height).Intersect(new Rect(0, 0, img.Width, img.Height));
    }

    private static void WriteSideBySide(FfmpegVideoWriter w, Mat portrait, Mat real, Mat output)
    {
        using var diff = new Mat();
        Cv2.Absdiff(output, real, diff);
        using var amplified = (diff * 4).ToMat();
        using var row = new Mat();
        Cv2.HConcat([portrait, real, output, amplified], row);
        w.Write(row);
    }
}
