using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class FaceTrackerTests(ITestOutputHelper output)
{
    private static readonly FaceDetector Detector = new();

    /// <summary>Frames of a real portrait, shifted by offset(i) and with sensor-like noise.</summary>
    private static IEnumerable<VideoFrame> Synthetic(Mat portrait, int count, Func<int, PointD> offset, double noise, Func<int, bool>? cover = null)
    {
        var rng = new Random(7);
        for (int i = 0; i < count; i++)
        {
            var o = offset(i);
            var m = new Mat();
            using var t = Mat.FromArray(new double[,] { { 1, 0, o.X }, { 0, 1, o.Y } });
            Cv2.WarpAffine(portrait, m, t, portrait.Size(), InterpolationFlags.Linear, BorderTypes.Reflect);
            if (noise > 0) TestData.AddNoise(m, noise);
            if (cover?.Invoke(i) == true) m.SetTo(new Scalar(40, 40, 40));
            yield return new VideoFrame(i, m);
        }
    }

    private static Mat Audrey() => Cv2.ImRead(TestData.Golden("images/audrey.png"), ImreadModes.Color);

    private static double[] PerPointStd(List<PointD[]> seq)
    {
        var std = new double[68];
        for (int k = 0; k < 68; k++)
        {
            var mx = seq.Average(p => p[k].X); var my = seq.Average(p => p[k].Y);
            std[k] = Math.Sqrt(seq.Average(p => (p[k].X - mx) * (p[k].X - mx) + (p[k].Y - my) * (p[k].Y - my)));
        }
        return std;
    }

    [Fact]
    public void StillFaceDoesNotShimmer()
    {
        using var portrait = Audrey();
        var tracker = new FaceTracker(Detector, 25);
        var raw = new List<PointD[]>(); var smooth = new List<PointD[]>();
        foreach (var f in tracker.Track(Synthetic(portrait, 60, _ => new PointD(0, 0), noise: 6)))
            using (f)
            {
                if (f.Index < 10) continue; // let the filter settle
                raw.Add(f.RawLandmarks!); smooth.Add(f.Landmarks!);
            }
        double rawJitter = PerPointStd(raw).Average(), smoothJitter = PerPointStd(smooth).Average();
        output.WriteLine($"noisy still face: raw jitter {rawJitter:0.000} px, smoothed {smoothJitter:0.000} px (per-point std, mean over points)");
        Assert.True(rawJitter > 0.05, "the test's noise should make raw predictions jitter");
        Assert.True(smoothJitter < 0.25 * rawJitter, "smoothing should cut the jitter at least fourfold");
        Assert.True(smoothJitter < 0.2, $"smoothed jitter {smoothJitter:0.000} px is visible");
    }

    [Theory]
    [InlineData(6.0, 1.5)]  // 150 px/s at 25 fps (5% of IOD a frame): a brisk head move, followed within 1.5 px
    [InlineData(1.0, 2.5)]  // 25 px/s: a slow drift, the hardest case for an adaptive filter
    public void MotionIsFollowedWithoutLag(double speed, double maxLag)
    {
        using var portrait = Audrey();
        PointD Offset(int i) => new(i < 25 ? speed * i : speed * (50 - i), 0);
        var tracker = new FaceTracker(Detector, 25);
        var first = default(PointD[]);
        double worstLag = 0, worstRaw = 0;
        foreach (var f in tracker.Track(Synthetic(portrait, 50, Offset, noise: 2)))
            using (f)
            {
                first ??= f.RawLandmarks;
                var expected = first!.Select(p => p + Offset(f.Index)).ToArray();
                double lag = FaceLandmarks.Mean(f.Landmarks!).X - FaceLandmarks.Mean(expected).X;
                double rawErr = FaceLandmarks.Mean(f.RawLandmarks!).X - FaceLandmarks.Mean(expected).X;
                worstLag = Math.Max(worstLag, Math.Abs(lag)); worstRaw = Math.Max(worstRaw, Math.Abs(rawErr));
            }
        output.WriteLine($"{speed} px/frame motion: worst centroid lag smoothed {worstLag:0.00} px, raw {worstRaw:0.00} px");
        Assert.True(worstLag < maxLag, $"smoothed landmarks lag {worstLag:0.00} px behind a {speed} px/frame move");
    }

    [Fact]
    public void FramesWithoutFaceAreBridgedAndReported()
    {
        using var portrait = Audrey();
        var tracker = new FaceTracker(Detector, 25);
        var results = new List<(int Index, TrackStatus Status, PointD[]? Lm)>();
        // the face moves 2 px per frame; frames 20-29 are covered (a hand over the camera)
        foreach (var f in tracker.Track(Synthetic(portrait, 45, i => new PointD(2 * i, 0), 2, i => i is >= 20 and < 30)))
            using (f) results.Add((f.Index, f.Status, f.RawLandmarks ?? f.Landmarks));
        Assert.Equal(Enumerable.Range(0, 45), results.Select(r => r.Index));
        var bridged = results.Where(r => r.Status == TrackStatus.Bridged).Select(r => r.Index).ToArray();
        output.WriteLine($"bridged frames: {string.Join(",", bridged)}; losses {tracker.LossCount}; detected {tracker.DetectedFrames}");
        Assert.Equal(Enumerable.Range(20, 10), bridged);
        Assert.Equal(10, tracker.BridgedFrames);
        // bridged landmarks are interpolated between the faces on either side of the gap
        double before = FaceLandmarks.Mean(results[19].Lm!).X, after = FaceLandmarks.Mean(results[30].Lm!).X;
        double mid = FaceLandmarks.Mean(results[25].Lm!).X;
        Assert.InRange(mid, before + 0.4 * (after - before), before + 0.7 * (after - before));
    }

    [Fact]
    public void VideoWithNoFaceAtAllReportsMissing()
    {
        var frames = Enumerable.Range(0, 5).Select(i => new VideoFrame(i, new Mat(120, 160, MatType.CV_8UC3, new Scalar(90, 120, 150))));
        var tracker = new FaceTracker(Detector, 25);
        var statuses = tracker.Track(frames).Select(f => { f.Dispose(); return f.Status; }).ToList();
        Assert.All(statuses, s => Assert.Equal(TrackStatus.Missing, s));
        Assert.Equal(5, tracker.MissingFrames);
    }

    [Fact]
    public void TracksRealVideoWithoutLosingTheFace()
    {
        using var reader = new VideoReader(TestData.Sample("franck.mp4"));
        var tracker = new FaceTracker(Detector, reader.Fps);
        int n = 0;
        double maxStep = 0, maxRawStep = 0, iod = 0; PointD[]? prev = null, prevRaw = null;
        foreach (var f in tracker.Track(reader.Frames(20, 10)))
            using (f)
            {
                n++;
                if (prev is not null) maxStep = Math.Max(maxStep, f.Landmarks!.Zip(prev, PointD.Distance).Average());
                if (prevRaw is not null && f.RawLandmarks is not null) maxRawStep = Math.Max(maxRawStep, f.RawLandmarks.Zip(prevRaw, PointD.Distance).Average());
                prev = f.Landmarks; prevRaw = f.RawLandmarks ?? prevRaw;
                iod = Math.Max(iod, FaceLandmarks.InterOcularDistance(f.Landmarks!));
            }
        output.WriteLine($"franck 20-30 s: {n} frames, detected {tracker.DetectedFrames}, tracked {tracker.TrackedFrames}, bridged {tracker.BridgedFrames}, losses {tracker.LossCount}, largest mean step {maxStep:0.00} px (raw {maxRawStep:0.00} px), IOD {iod:0.0} px");
        Assert.Equal(240, n);
        Assert.Equal(0, tracker.BridgedFrames);
        Assert.True(maxStep <= maxRawStep + 0.5, "smoothing made landmarks jump");
        Assert.True(maxStep < 0.15 * iod, "landmarks jump between frames");
    }
}
