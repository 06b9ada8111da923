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
    /// <summary>A tracked face rolled further than this (radians) is read in a view turned upright
    /// (<see cref="UprightView"/>), until its roll falls below <see cref="UprightBelowRadians"/>. On the golden
    /// images turned by 20 degrees the model alone lands 0.027 IOD from the turned golden points, read upright 0.019;
    /// at 10 degrees 0.016 and 0.017-0.020 (resampling costs a little), at 45 degrees 0.34 and 0.018.</summary>
    public double TurnUprightAboveRadians { get; init; } = 15 * Math.PI / 180;
    public double UprightBelowRadians { get; init; } = 12 * Math.PI / 180;
    /// <summary>While the face is lost, every this many frames the detector also searches the frame turned
    /// (<see cref="FaceDetector.TiltedSearchDegrees"/>): a head lying down, or a clip without rotation metadata filmed sideways.</summary>
    public int TiltedSearchEvery { get; init; } = 25;
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
    private ViewPose? _viewPose;     // the upright view a tilted face was last read in
    private FaceBox _viewBox;        // and the box within it

    public int DetectedFrames { get; private set; }
    public int TrackedFrames { get; private set; }
    public int BridgedFrames { get; private set; }
    public int MissingFrames { get; private set; }
    public int LossCount { get; private set; }
    /// <summary>How many faces the detector found on the frame where the face was first found (the one followed is
    /// FaceTrackerOptions.FaceIndex of them, 0 the largest); 0 before any face, 1 with FirstBox.</summary>
    public int FirstFaceCount { get; private set; }

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
        bool tracking = false, everFound = false, rolled = false;
        int facelessRun = 0;         // frames in a row detection has run on without finding a face
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
                box = given; pts = _detector.Predictor.Predict(intensity, given); status = TrackStatus.Detected; FirstFaceCount = 1;
                tracking = true; everFound = true;
            }
            else if (tracking && last is not null)
            {
                bool verify = ++sinceVerify >= _opt.VerifyEvery;
                if (verify) sinceVerify = 0;
                bool confirmed;
                // A tilted head is read in a view turned upright (the model and the cascades know upright faces only);
                // the two thresholds keep a head near one of them from switching every frame.
                double roll = Math.Abs(UprightView.RollOf(last));
                rolled = roll > (rolled ? _opt.UprightBelowRadians : _opt.TurnUprightAboveRadians);
                if (rolled)
                {
                    pts = PredictUpright(frame.Image, last, verify, out confirmed);
                    box = UprightView.BoxOf(pts, _detector.Predictor.InitialShape);
                }
                else
                {
                    _viewPose = null;
                    // Keep the box while the face stays put: a box that follows every pixel of
                    // landmark noise feeds that noise back into the next prediction.
                    var next = FaceLandmarks.BoxFor(last, _detector.Predictor.InitialShape);
                    box = FaceDetector.Overlap(next, lastBox) > _opt.BoxStickiness ? lastBox : next;
                    pts = PredictOnBox(intensity, ref box);
                    confirmed = !verify || _detector.ConfirmFace(frame.Image, box);
                }
                if (verify) misses = confirmed ? 0 : misses + 1;
                if (misses >= 2 || ShapeMisfit(pts, _detector.Predictor.InitialShape) > _opt.MaxShapeMisfit || !MostlyInside(box, frame.Image)
                    || FaceDetector.InnerFaceContrast(intensity, pts) < _detector.Options.MinInnerFaceContrast)
                {
                    pts = null; tracking = false; misses = 0; LossCount++;
                }
            }
            if (pts is null)
            {
                // turned images are searched on every few face-less frames only: each search costs up to seven detections
                var faces = _detector.Detect(frame.Image, intensity, findTilted: facelessRun++ % _opt.TiltedSearchEvery == 0);
                Face? pick = null;
                if (faces.Count > 0 && !everFound) FirstFaceCount = faces.Count;
                if (faces.Count > 0)
                    pick = everFound
                        ? faces.OrderBy(f => PointD.Distance(new PointD(f.Box.CenterX, f.Box.CenterY), new PointD(lastBox.CenterX, lastBox.CenterY))).First()
                        : faces[Math.Min(_opt.FaceIndex, faces.Count - 1)];
                if (pick is not null)
                {
                    // one prediction on the calibrated box, as on tracked frames (the detector averages
                    // over several boxes; mixing the two would make the landmarks jump after a detection)
                    box = pick.Box; status = TrackStatus.Detected;
                    rolled = Math.Abs(UprightView.RollOf(pick.Landmarks)) > _opt.TurnUprightAboveRadians;
                    if (_opt.BoxEnsemble) pts = pick.Landmarks;
                    else if (rolled) { _viewPose = null; pts = PredictUpright(frame.Image, pick.Landmarks, false, out _); }
                    else pts = _detector.Predictor.Predict(intensity, box);
                    tracking = true; everFound = true; sinceVerify = 0; misses = 0; facelessRun = 0;
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

    private PointD[] PredictOnBox(IntensityImage intensity, ref FaceBox box)
    {
        var pts = _detector.Predictor.Predict(intensity, box);
        var refit = FaceLandmarks.BoxFor(pts, _detector.Predictor.InitialShape);
        if (FaceDetector.Overlap(refit, box) < 0.85) { box = refit; pts = _detector.Predictor.Predict(intensity, box); }
        if (_opt.BoxEnsemble) pts = _detector.PredictOverBoxJitter(intensity, box);
        return pts;
    }

    /// <summary>Landmarks of a tilted face near <paramref name="last"/>, read in a view turned upright by its roll. The
    /// view, and the box within it, stay put while the face does (as the box does for an upright face).</summary>
    private PointD[] PredictUpright(Mat image, PointD[] last, bool verify, out bool confirmed)
    {
        var mean = _detector.Predictor.InitialShape;
        var pose = UprightView.PoseOf(last, mean);
        bool samePose = _viewPose is { } previous && pose.Near(previous);
        if (samePose) pose = _viewPose!.Value;
        using var view = UprightView.Around(image, pose);
        var next = FaceLandmarks.BoxFor(view.ToView(last), mean);
        var box = samePose && FaceDetector.Overlap(next, _viewBox) > _opt.BoxStickiness ? _viewBox : next;
        var pts = PredictOnBox(view.Intensity, ref box);
        confirmed = !verify || _detector.ConfirmFace(view.Image, box);
        _viewPose = pose; _viewBox = box;
        return view.ToImage(pts);
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
