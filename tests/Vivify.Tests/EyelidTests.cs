using OpenCvSharp;
using Vivify.Animation;
using Vivify.Evaluation;
using Vivify.Eyes;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Tests.Warping;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class EyelidTests(ITestOutputHelper output)
{
    private static readonly FaceDetector Detector = new();

    /// <summary>
    /// A lid that comes halfway down leaves the eyeball where it was (the eye's corners do not move here, so the eye's
    /// visible part should be the portrait's own pixels): inside the half-closed eye the output differs from audrey's
    /// own eye by under 3 grey levels on average with EyelidClosure, and by over 15 with the warp's squeeze alone (the
    /// iris pressed into an oval). Away from the eyes the frame is the warp's, bit for bit.
    /// </summary>
    [Fact]
    public void AClosingLidCoversTheEyeballInsteadOfSquashingIt()
    {
        using var portrait = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        int width = portrait.Width, height = portrait.Height;
        var scene = WarpScene.ForGoldenImage("audrey.png", width, height);
        var current = scene.Identity();
        foreach (var (up, low) in new[] { (37, 41), (38, 40), (43, 47), (44, 46) })
            current[up] = current[up] + 0.5 * (current[low] - current[up]);
        using var warp = scene.CreateWarp();
        using var squeezed = new Mat();
        warp.Warp(current, portrait, squeezed);
        using var covered = squeezed.Clone();
        var lids = new EyelidClosure(scene.Reference[..68]);
        Assert.True(lids.Closing(current, 0) > 0.4 && lids.Closing(current, 1) > 0.4);
        lids.Apply(portrait, warp.MapX, warp.MapY, current, covered);
        Assert.Equal(2, lids.LastRedrawnEyes);

        foreach (var eye in EyelidClosure.EyeIndices)
        {
            // the half-closed eye, shrunk by a pixel from its edge
            using var mask = new Mat(portrait.Size(), MatType.CV_8UC1, Scalar.All(0));
            Cv2.FillConvexPoly(mask, eye.Select(k => new Point((int)Math.Round(current[k].X), (int)Math.Round(current[k].Y))).ToArray(), Scalar.All(255));
            Cv2.Erode(mask, mask, null, iterations: 1);
            double Diff(Mat m) { using var d = new Mat(); Cv2.Absdiff(m, portrait, d); var s = Cv2.Mean(d, mask); return (s.Val0 + s.Val1 + s.Val2) / 3; }
            double own = Diff(covered), squashed = Diff(squeezed);
            output.WriteLine($"eye {eye[0]}-{eye[5]} ({Cv2.CountNonZero(mask)} px inside): mean difference from the portrait's own eye {own:0.00} covered, {squashed:0.00} squeezed");
            Assert.True(own < 3, $"covered eye differs by {own:0.00} grey levels from the portrait's own eyeball");
            Assert.True(squashed > 15, $"the squeezed eye differs by only {squashed:0.00}: the test would not see a squash");
        }
        // nothing changes beyond the eyes' boxes (the lid zone above reaches half an eye's width)
        using var diff = new Mat();
        Cv2.Absdiff(covered, squeezed, diff);
        using var grey = diff.CvtColor(ColorConversionCodes.BGR2GRAY);
        double ew = PointD.Distance(current[36], current[39]);
        var near = new Rect((int)(current[36].X - 2), (int)(current[17..27].Min(p => p.Y) - 2), (int)(current[45].X - current[36].X + 4), 0);
        near.Height = (int)(current[36..48].Max(p => p.Y) + 0.35 * ew + 2) - near.Y;
        using (var inner = new Mat(grey, near)) inner.SetTo(Scalar.All(0));
        Assert.Equal(0, Cv2.CountNonZero(grey));
    }

    /// <summary>
    /// The redraw of a shut eye meets the warp's own frame at the eye's corners, where the lids do not move: just outside
    /// each corner, over the zone above it, the two differ by under 3 grey levels on average (the lashes' pressing and the
    /// white fringe's skip fade out towards the corners; pressed as far as the lid travels right up to a corner, the
    /// lashes left a hard vertical seam there: 7.05 grey levels by corner 39).
    /// </summary>
    [Fact]
    public void AShutEyesRedrawMeetsTheWarpAtItsCorners()
    {
        using var portrait = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        var scene = WarpScene.ForGoldenImage("audrey.png", portrait.Width, portrait.Height);
        var current = scene.Identity();
        foreach (var (up, low) in new[] { (37, 41), (38, 40), (43, 47), (44, 46) })
        {
            var m = current[low] + 0.3 * (current[up] - current[low]);
            current[up] = m + 0.02 * (current[up] - m); current[low] = m + 0.02 * (current[low] - m);
        }
        using var warp = scene.CreateWarp();
        using var squeezed = new Mat();
        warp.Warp(current, portrait, squeezed);
        using var shut = squeezed.Clone();
        new EyelidClosure(scene.Reference[..68]).Apply(portrait, warp.MapX, warp.MapY, current, shut);
        using var diff = new Mat();
        Cv2.Absdiff(shut, squeezed, diff);
        using var grey = diff.CvtColor(ColorConversionCodes.BGR2GRAY);
        foreach (int corner in new[] { 36, 39, 42, 45 })
        {
            var c = current[corner];
            double ew = PointD.Distance(current[corner is 36 or 39 ? 36 : 42], current[corner is 36 or 39 ? 39 : 45]);
            int outside = corner is 36 or 42 ? (int)Math.Floor(c.X) - 1 : (int)Math.Ceiling(c.X) + 1;
            int top = (int)(c.Y - 0.5 * ew), bottom = (int)(c.Y + 0.2 * ew);
            double sum = 0;
            for (int y = top; y <= bottom; y++) sum += grey.At<byte>(y, outside);
            double mean = sum / (bottom - top + 1);
            output.WriteLine($"corner {corner}: column {outside}, rows {top}-{bottom}: mean difference {mean:0.00}");
            Assert.True(mean < 3, $"corner {corner}: the redraw differs from the warp by {mean:0.00} grey levels just outside it");
        }
        // and it did redraw the eye: inside, the shut eye is no longer the squeezed one
        using var inside = new Mat(grey, new Rect((int)current[37].X, (int)current[37].Y - 4, (int)(current[38].X - current[37].X), 6));
        Assert.True(Cv2.Mean(inside).Val0 > 5);
    }

    /// <summary>
    /// franck shuts his eyes fully at 24.6 s (frames 111-112 from 20 s), but our landmark engine reads them at about 0.57 of
    /// their usual opening, so the portrait used to half-blink. The portrait's eyeballs are painted pure green (inside the
    /// eye polygons, a pixel in from the lids): in frame 0 most of the green shows; at the blink, with BlinkDepth and
    /// EyelidClosure, almost none does (the lids meet over it), while without them a third or more still shows. Where the
    /// driver's eyes are open the animated lids are exactly where the transfer puts them. (The engine itself is no judge of
    /// a shut eye: it reads cage's and obama4's shut eyes in our output as more open than their open ones.)
    /// </summary>
    [Theory]
    [InlineData("audrey.png")]
    [InlineData("cage.png")]
    public void ADriversBlinkShutsThePortraitsEyes(string image)
    {
        var driver = DriverTrack.Analyse(TestData.Sample("franck.mp4"), Detector, new DriverTrack.Options { Start = 24, Duration = 1.5 });
        Assert.Equal(driver.FrameCount, driver.RawEyeOpenings.Count);
        using var portrait = Cv2.ImRead(TestData.Golden("images/" + image));
        var face = Detector.Detect(portrait)[0].Landmarks;
        using var green = new Mat(portrait.Size(), MatType.CV_8UC1, Scalar.All(0));
        foreach (var eye in EyelidClosure.EyeIndices)
            Cv2.FillConvexPoly(green, eye.Select(k => new Point((int)Math.Round(face[k].X), (int)Math.Round(face[k].Y))).ToArray(), Scalar.All(255));
        Cv2.Erode(green, green, null, iterations: 1);
        portrait.SetTo(new Scalar(0, 255, 0), green);
        int painted = Cv2.CountNonZero(green);
        var blinks = new BlinkDepth(driver.Landmarks, driver.RawEyeOpenings, driver.Fps);
        // the blink: the frame the detector reads the most shut
        int shut = Enumerable.Range(0, driver.FrameCount).MinBy(i => driver.RawEyeOpenings[i].Left + driver.RawEyeOpenings[i].Right);
        Assert.Equal(0, blinks.Factor(shut));

        (double Open, double Shut) Green(AnimationOptions opt, out PointD[][] animated)
        {
            using var animator = new PortraitAnimator(portrait, image, driver, Detector, opt);
            animated = [.. Enumerable.Range(0, driver.FrameCount).Select(animator.LandmarksAt)];
            double Share(int i)
            {
                using var frame = new Mat();
                animator.Render(i, frame);
                using var mask = frame.InRange(new Scalar(0, 200, 0), new Scalar(90, 255, 90));
                return (double)Cv2.CountNonZero(mask) / painted;
            }
            return (Share(0), Share(shut));
        }
        var on = Green(new AnimationOptions { Start = 24, Duration = 1.5, NeutralFrame = 0 }, out var withBlinks);
        var off = Green(new AnimationOptions { Start = 24, Duration = 1.5, NeutralFrame = 0, Eyelids = false, BlinkDepth = false }, out var without);
        output.WriteLine($"{image}, {painted} eyeball pixels painted; the share showing in frame 0 and at the blink (frame {shut}): " +
                         $"{on.Open:0.000} and {on.Shut:0.000}, without BlinkDepth and EyelidClosure {off.Open:0.000} and {off.Shut:0.000}");
        Assert.True(on.Open > 0.7, $"only {on.Open:0.000} of the eyeballs show in frame 0");
        Assert.True(on.Shut < 0.03, $"{on.Shut:0.000} of the eyeballs still show at the blink");
        Assert.True(off.Shut > 0.3, $"without the stages {off.Shut:0.000} shows: the test would not see a half-blink");
        // frames where the driver's eyes read near their usual opening: the lids are the transfer's
        int untouched = 0;
        for (int i = 0; i < driver.FrameCount; i++)
            if (blinks.Factor(i) == 1) { untouched++; Assert.Equal(without[i], withBlinks[i]); }
        output.WriteLine($"{untouched} of {driver.FrameCount} frames untouched");
        Assert.True(untouched > driver.FrameCount / 2);
    }

    /// <summary>
    /// franck keeps his eyes shut from 9.3 s to 11.1 s. Animated from 8.8 s for 2.6 s, his eyes are shut on most of the
    /// part, so its median opening is a shut one; read against the part's open eyes (the median of the frames near its
    /// 90th percentile), the closure still shuts the portrait's eyes (on 40 frames or more), and the open frames at the
    /// start are left alone.
    /// </summary>
    [Fact]
    public void EyesShutForMostOfThePartStillShut()
    {
        var driver = DriverTrack.Analyse(TestData.Sample("franck.mp4"), Detector, new DriverTrack.Options { Start = 8.8, Duration = 2.6 });
        var blinks = new BlinkDepth(driver.Landmarks, driver.RawEyeOpenings, driver.Fps);
        var f = Enumerable.Range(0, driver.FrameCount).Select(blinks.Factor).ToArray();
        output.WriteLine($"{driver.FrameCount} frames; factors {string.Join(" ", f.Select(x => x.ToString("0.00")))}");
        Assert.True(f.Count(x => x == 0) >= 40, $"only {f.Count(x => x == 0)} frames shut");
        Assert.All(f[..5], x => Assert.Equal(1, x));
    }

    /// <summary>
    /// eval cross scores the brow raise also on the frames where the driver's eyes are open: over franck's 24-25.5 s, it
    /// leaves out his blink (2 to 6 frames whose eyes read under 0.8 of their usual opening) and no more.
    /// </summary>
    [Fact]
    public void CrossReenactmentScoresTheBrowRaiseWithoutTheDriversBlink()
    {
        using var portrait = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        var r = CrossReenactment.Run("audrey.png", portrait, TestData.Sample("franck.mp4"), new AnimationOptions { Start = 24, Duration = 1.5 }, Detector);
        output.WriteLine($"{r.Frames} frames, brow raise {r.BrowRaise}, on the {r.EyesOpenFrames} with the driver's eyes open {r.BrowRaiseEyesOpen}");
        Assert.NotNull(r.BrowRaiseEyesOpen);
        Assert.InRange(r.Frames - 1 - r.EyesOpenFrames, 2, 6);
    }

    /// <summary>
    /// Eyes behind sunglasses are not the portrait's to blink: terminator_crop.jpg (black lenses) reads as hiding its eyes,
    /// every golden portrait as showing them (deep-set, shadowed, small and painted eyes included), and so does audrey
    /// until dark lenses are painted over her eyes and the skin around them. Driven through franck's blink, the terminator
    /// comes out bit for bit as with --no-eyelids.
    /// </summary>
    [Fact]
    public void SunglassesDoNotBlink()
    {
        foreach (var image in Directory.GetFiles(TestData.Golden("images"), "*.png"))
        {
            using var m = Cv2.ImRead(image);
            Assert.True(EyelidClosure.EyesShown(m, Detector.Detect(m)[0].Landmarks), $"{Path.GetFileName(image)}: eyes read as hidden");
        }
        using var audrey = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        var face = Detector.Detect(audrey)[0].Landmarks;
        double iod = FaceLandmarks.InterOcularDistance(face);
        foreach (var centre in new[] { FaceLandmarks.LeftEyeCenter(face), FaceLandmarks.RightEyeCenter(face) })
            Cv2.Ellipse(audrey, new Point((int)centre.X, (int)centre.Y), new Size((int)(0.45 * iod), (int)(0.3 * iod)), 0, 0, 360, new Scalar(25, 22, 20), -1);
        Assert.False(EyelidClosure.EyesShown(audrey, face));

        var driver = DriverTrack.Analyse(TestData.Sample("franck.mp4"), Detector, new DriverTrack.Options { Start = 24.5, Duration = 0.3 });
        using var terminator = Cv2.ImRead(TestData.Sample("terminator_crop.jpg"));
        using var on = new PortraitAnimator(terminator, "terminator_crop.jpg", driver, Detector, new AnimationOptions { Start = 24.5, Duration = 0.3 });
        using var off = new PortraitAnimator(terminator, "terminator_crop.jpg", driver, Detector, new AnimationOptions { Start = 24.5, Duration = 0.3, Eyelids = false, BlinkDepth = false });
        Assert.False(on.EyesShown);
        for (int i = 0; i < driver.FrameCount; i++)
        {
            using var a = new Mat(); using var b = new Mat();
            on.Render(i, a); off.Render(i, b);
            using var d = new Mat(); Cv2.Absdiff(a, b, d);
            Assert.Equal(0, Cv2.CountNonZero(d.Reshape(1)));
        }
    }

}
