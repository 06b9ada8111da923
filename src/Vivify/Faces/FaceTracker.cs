// FaceTracker: 68 landmarks through a video, smoothly.
// Requires: a FaceDetector and a stream of frames (VideoReader.Frames).
// How: detect once; then place each next box from the previous landmarks (FaceLandmarks.BoxFor)
// and predict; every VerifyEvery frames a cascade looks for the face around the tracked box and
// two misses in a row, or a landmark shape far from any face, count as lost: then full-frame
// detection runs on every frame until the face is back. Frames without a face are held back
// (at most MaxBridgeFrames) and bridged by interpolating landmarks between the faces on either
// side; trajectories are smoothed by LandmarkSmoother (adaptive, 1-euro style).
// Guarantees: streams (holds at most MaxBridgeFrames frames); every input frame comes out once,
// in order, with Status saying how its landmarks were obtained; Landmarks is null only for
// frames before the first face when no face is ever found (Status Missing).
using OpenCvSharp;
using Vivify.Geometry;
using Vivify.Media;

namespace Vivify.Faces;

public enum TrackStatus { Detected, Tracked, Bridged, Missing }

public sealed record FaceTrackerOptions
{
    /// <summary>Which face to follow when the first detection finds several (0 = largest).</summary>
    public int FaceIndex { get; init; }
    /// <summary>Smooth trajectories (1-euro filter). Off gives the raw per-frame predictions.</summary>
    public bool Smooth { get; init; } = true;
    /// <summary>Smoothing cut-off for a still face, Hz: lower = steadier (LandmarkSmoother).</summary>
    public double MinCutoffHz { get; init; } = 0.5;
    /// <summary>A cascade checks the tracked face every this many frames.</summary>
    public int VerifyEvery { get; init; } = 10;
    /// <summary>Longest run of face-less frames held back for bridging; longer runs hold the last face.</summary>
    public int MaxBridgeFrames { get; init; } = 50;
    /// <summary>Largest landmark misfit (RMS, as a share of the face size) still taken as a face.</summary>
    public double MaxShapeMisfit { get; init; } = 0.12;
    /// <summary>Average each frame's landmarks over a few boxes around the tracked one, as the detector does
    /// (steadier, more accurate landmarks; about 7 predictions a frame instead of 1).</summary>
    public bool BoxEnsemble { get; init; }
    /// <summary>The tracked box is kept while the box fitted to the last landmarks overlaps it by more than this (IoU).</summary>
    public double BoxStickiness { get; init; } = 0.9;
    /// <summary>Skip detection on the first frame: predict on this box instead (the CLI's --box).</summary>
    public FaceBox? FirstBox { get; init; }
}

public sealed class TrackedFrame : IDisposable
{
    public required int Index { get; init; }
    public required Mat Image { get; init; }
    public FaceBox? Box { get; init; }
    /// <summary>Smoothed landmarks (or raw when smoothing is off); null only when Status is Missing.</summary>
    public PointD[]? Landmarks { get; init; }
    public PointD[]? RawLandmarks { get; init; }
    public required TrackStatus Status { get; init; }
    public void Dispose() => Image.Dispose();
}

public sealed class FaceTracker
{
    private readonly FaceDetector _detector;
    private readonly FaceTrackerOptions _opt;
    private readonly LandmarkSmoother _smoother;

    public int DetectedFrames { get; private set; }
    public int TrackedFrames { get; private set; }
    public int BridgedFrames { get; private set; }
    public int MissingFrames { get; private set; }
    public int LossCount { get; private set; }

    public FaceTracker(FaceDetector detector, double fps, FaceTrackerOptions? options = null)
    {
        _detector = detector; _opt = options ?? new FaceTrackerOptions();
        _smoother = new LandmarkSmoother(fps, _opt.MinCutoffHz);
    }

    public IEnumerable<TrackedFrame> Track(IEnumerable<VideoFrame> frames)
    {
        var pending = new Queue<VideoFrame>();
        PointD[]? last = null;       // raw landmarks of the last frame with a face
        FaceBox lastBox = default;
        bool tracking = false, everFound = false;
        int sinceVerify = 0, misses = 0;
        int firstIndex = -1;
        foreach (var frame in frames)
        {
            if (firstIndex < 0) firstIndex = frame.Index;
            var intensity = IntensityImage.FromMat(frame.Image);
            PointD[]? pts = null;
            FaceBox box = default;
            var status = TrackStatus.Tracked;
            if (frame.Index == firstIndex && _opt.FirstBox is { } given)
            {
                box = given; pts = _detector.Predictor.Predict(intensity, given); status = TrackStatus.Detected;
                tracking = true; everFound = true;
            }
            else if (tracking && last is not null)
            {
                // Keep the box while the face stays put: a box that follows every pixel of
                // landmark noise feeds that noise back into the next prediction.
                var next = FaceLandmarks.BoxFor(last, _detector.Predictor.InitialShape);
                box = FaceDetector.Overlap(next, lastBox) > _opt.BoxStickiness ? lastBox : next;
                pts = _detector.Predictor.Predict(intensity, box);
                var refit = FaceLandmarks.BoxFor(pts, _detector.Predictor.InitialShape);
                if (FaceDetector.Overlap(refit, box) < 0.85) { box = refit; pts = _detector.Predictor.Predict(intensity, box); }
                if (_opt.BoxEnsemble) pts = _detector.PredictOverBoxJitter(intensity, box);
                if (++sinceVerify >= _opt.VerifyEvery)
                {
                    sinceVerify = 0;
                    misses = _detector.ConfirmFace(frame.Image, box) ? 0 : misses + 1;
                }
                if (misses >= 2 || ShapeMisfit(pts, _detector.Predictor.InitialShape) > _opt.MaxShapeMisfit || !MostlyInside(box, frame.Image)
                    || FaceDetector.InnerFaceContrast(intensity, pts) < _detector.Options.MinInnerFaceContrast)
                {
                    pts = null; tracking = false; misses = 0; LossCount++;
                }
            }
            if (pts is null)
            {
                var faces = _detector.Detect(frame.Image, intensity);
                Face? pick = null;
                if (faces.Count > 0)
                    pick = everFound
                        ? faces.OrderBy(f => PointD.Distance(new PointD(f.Box.CenterX, f.Box.CenterY), new PointD(lastBox.CenterX, lastBox.CenterY))).First()
                        : faces[Math.Min(_opt.FaceIndex, faces.Count - 1)];
                if (pick is not null)
                {
                    // one prediction on the calibrated box, as on tracked frames (the detector averages
                    // over several boxes; mixing the two would make the landmarks jump after a detection)
                    box = pick.Box; pts = _opt.BoxEnsemble ? pick.Landmarks : _detector.Predictor.Predict(intensity, box); status = TrackStatus.Detected;
                    tracking = true; everFound = true; sinceVerify = 0; misses = 0;
                }
            }
            if (pts is null)
            {
                pending.Enqueue(frame);
                if (pending.Count > _opt.MaxBridgeFrames)
                    yield return Emit(pending.Dequeue(), last, null, lastBox, last is null ? TrackStatus.Missing : TrackStatus.Bridged);
                continue;
            }
            int gap = pending.Count, k = 0;
            while (pending.Count > 0)
            {
                k++;
                var interp = last is null ? pts : Lerp(last, pts, (double)k / (gap + 1));
                yield return Emit(pending.Dequeue(), interp, null, box, TrackStatus.Bridged);
            }
            last = pts; lastBox = box;
            yield return Emit(frame, pts, pts, box, status);
        }
        while (pending.Count > 0)
            yield return Emit(pending.Dequeue(), last, null, lastBox, last is null ? TrackStatus.Missing : TrackStatus.Bridged);
    }

    private TrackedFrame Emit(VideoFrame f, PointD[]? landmarks, PointD[]? raw, FaceBox box, TrackStatus status)
    {
        switch (status)
        {
            case TrackStatus.Detected: DetectedFrames++; break;
            case TrackStatus.Tracked: TrackedFrames++; break;
            case TrackStatus.Bridged: BridgedFrames++; break;
            default: MissingFrames++; break;
        }
        PointD[]? smoothed = landmarks is not null && _opt.Smooth ? _smoother.Filter(landmarks) : landmarks;
        return new TrackedFrame
        {
            Index = f.Index, Image = f.Image, Box = status == TrackStatus.Missing ? null : box,
            Landmarks = smoothed, RawLandmarks = raw, Status = status,
        };
    }

    private static PointD[] Lerp(PointD[] a, PointD[] b, double t)
    {
        var r = new PointD[a.Length];
        for (int i = 0; i < a.Length; i++) r[i] = new PointD(a[i].X + (b[i].X - a[i].X) * t, a[i].Y + (b[i].Y - a[i].Y) * t);
        return r;
    }

    private static bool MostlyInside(FaceBox b, Mat img)
    {
        double iw = Math.Min(b.Right, img.Width - 1) - Math.Max(b.Left, 0) + 1;
        double ih = Math.Min(b.Bottom, img.Height - 1) - Math.Max(b.Top, 0) + 1;
        return iw > 0 && ih > 0 && iw * ih >= 0.4 * b.Area && b.Width >= 24;
    }

    /// <summary>RMS distance of the landmarks from the best similarity placement of the mean shape, over the face size.</summary>
    internal static double ShapeMisfit(ReadOnlySpan<PointD> pts, ReadOnlySpan<float> mean)
    {
        var meanPts = new PointD[pts.Length];
        for (int i = 0; i < meanPts.Length; i++) meanPts[i] = new PointD(mean[2 * i], mean[2 * i + 1]);
        var fit = Similarity.Fit(meanPts, pts);
        double sq = 0;
        for (int i = 0; i < pts.Length; i++) { var d = fit.Apply(meanPts[i]) - pts[i]; sq += d.X * d.X + d.Y * d.Y; }
        return Math.Sqrt(sq / pts.Length) / Math.Max(fit.Scale, 1e-9);
    }
}
