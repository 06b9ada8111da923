// DriverTrack: everything the animation needs from the driving video, gathered in one streaming
// pass: the 68 landmarks of every frame (the tracker's, steadied by optical flow: each frame's
// landmarks are the previous ones moved by their Lucas-Kanade flow and pulled towards the
// detector's answer, fully where the two disagree), and trajectories of trackable points around
// and on the face (hair, ears, neck, shoulders, background, cheeks, forehead) followed by
// pyramidal Lucas-Kanade with a forward-backward check (TECHNIQUE.md stages 1 and 3).
// Requires: a readable video with a face. Guarantees: holds points, never frames (memory grows
// by a few kB per frame); Points[k][i] is defined for every frame i of the clip for the points
// that survived the whole clip (the others are dropped); frames without a face are bridged and
// counted; a clip with no face at all raises VivifyException naming the file.
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;

namespace Vivify.Animation;

public sealed class DriverTrack
{
    public required string Path { get; init; }
    public required double Fps { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    /// <summary>The part of the video analysed, seconds (as asked: --start, --duration); rendering decodes the same part.</summary>
    public required double Start { get; init; }
    public double? Duration { get; init; }
    /// <summary>Smoothed landmarks per clip frame.</summary>
    public required List<PointD[]> Landmarks { get; init; }
    public required List<TrackStatus> Status { get; init; }
    /// <summary>Non-facial point trajectories: Points[k][i] = point k in clip frame i.</summary>
    public required List<PointD[]> Points { get; init; }
    public int FrameCount => Landmarks.Count;
    public int BridgedFrames => Status.Count(s => s == TrackStatus.Bridged);

    /// <summary>Decodes frame i of the analysed part again (the caller disposes it).</summary>
    public Mat ReadFrame(int i)
    {
        using var reader = new VideoReader(Path);
        int first = reader.FrameIndexAt(Start);
        foreach (var vf in reader.Frames(Start, Duration))
        {
            if (vf.Index - first == i) return vf.Image;
            vf.Dispose();
        }
        throw new VivifyException(Path, $"frame {i} of the analysed part could not be decoded again");
    }

    public sealed record Options
    {
        public double Start { get; init; }
        public double? Duration { get; init; }
        public int FaceIndex { get; init; }
        /// <summary>Most non-facial points selected (good features to track).</summary>
        public int MaxPoints { get; init; } = 500;
        /// <summary>Also select points on the face itself (inside the landmark hull).</summary>
        public bool InsideFace { get; init; } = true;
        /// <summary>Points are taken within this many face-box sizes of the face centre.</summary>
        public double BandFaces { get; init; } = 1.6;
        public bool TrackPoints { get; init; } = true;
        public double ForwardBackwardMaxPx { get; init; } = 1.0;
        /// <summary>Steady landmarks by optical flow: each frame's landmarks are the previous ones moved by their
        /// Lucas-Kanade flow, pulled towards the detector's answer (no drift) and following it where they disagree.</summary>
        public bool FlowFusion { get; init; } = true;
        /// <summary>Share of the detector's answer mixed in per frame where flow and detector agree.</summary>
        public double FusionPull { get; init; } = 0.2;
    }

    /// <summary>Runs the pass; <paramref name="progress"/> gets the number of frames done.</summary>
    public static DriverTrack Analyse(string path, FaceDetector detector, Options? options = null, Action<int>? progress = null)
    {
        var opt = options ?? new Options();
        using var reader = new VideoReader(path);
        var tracker = new FaceTracker(detector, reader.Fps, new FaceTrackerOptions { FaceIndex = opt.FaceIndex });
        var landmarks = new List<PointD[]>();
        var status = new List<TrackStatus>();
        var traj = new List<List<PointD>>();
        var alive = new List<bool>();
        Mat? prevGray = null;
        Point2f[] pts = [];
        PointD[]? fused = null;
        List<int> live = [];
        // The points' flow from frame i-1 to i runs on a worker while this thread fuses the landmarks
        // and the tracker decodes and reads frame i+1; it is joined before frame i+1's flow starts.
        Task<(Point2f[] Next, bool[] Ok)>? pending = null;
        Mat? pendingFrom = null;
        void JoinPoints()
        {
            if (pending is null) return;
            var (next, ok) = pending.GetAwaiter().GetResult();
            pending = null;
            pendingFrom?.Dispose(); pendingFrom = null;
            var stillLive = new List<int>(live.Count);
            for (int j = 0; j < live.Count; j++)
            {
                int k = live[j];
                if (!ok[j]) { alive[k] = false; continue; }
                pts[k] = next[j];
                traj[k].Add(new PointD(next[j].X, next[j].Y));
                stillLive.Add(k);
            }
            live = stillLive;
        }
        try
        {
            foreach (var f in tracker.Track(reader.Frames(opt.Start, opt.Duration)))
            {
                using (f)
                {
                    status.Add(f.Status);
                    var gray = new Mat();
                    Cv2.CvtColor(f.Image, gray, ColorConversionCodes.BGR2GRAY);
                    JoinPoints();
                    var raw = f.RawLandmarks ?? f.Landmarks;
                    if (opt.TrackPoints && prevGray is not null && live.Count > 0)
                    {
                        // only points still alive are tracked: a lost point is dropped for good
                        var cur = live.Select(k => pts[k]).ToArray();
                        Mat from = prevGray, to = gray;
                        pending = Task.Run(() => (TrackForwardBackward(from, to, cur, opt.ForwardBackwardMaxPx, out var ok), ok));
                    }
                    if (opt.FlowFusion && raw is not null && fused is not null && prevGray is not null && f.Status != TrackStatus.Detected)
                        fused = FuseWithFlow(prevGray, gray, fused, raw, opt);
                    else fused = raw;
                    landmarks.Add(opt.FlowFusion ? (fused ?? []) : (f.Landmarks ?? []));
                    if (opt.TrackPoints && prevGray is null)
                    {
                        // Points are chosen on the first frame with a face (usually frame 0).
                        if (f.Landmarks is not null) { pts = SelectPoints(gray, f.Landmarks, opt); live = [.. Enumerable.Range(0, pts.Length)]; }
                        foreach (var p in pts) { traj.Add([new PointD(p.X, p.Y)]); alive.Add(true); }
                        if (f.Landmarks is null) { gray.Dispose(); progress?.Invoke(landmarks.Count); continue; }
                    }
                    if (opt.TrackPoints || opt.FlowFusion)
                    {
                        // the previous frame is disposed once the points' flow that reads it has been joined
                        if (pending is not null) pendingFrom = prevGray; else prevGray?.Dispose();
                        prevGray = gray;
                    }
                    else gray.Dispose();
                    progress?.Invoke(landmarks.Count);
                }
            }
            JoinPoints();
        }
        finally
        {
            try { pending?.Wait(); } catch (AggregateException) { }
            pendingFrom?.Dispose();
            prevGray?.Dispose();
        }
        if (tracker.DetectedFrames + tracker.TrackedFrames == 0)
            throw new VivifyException(path, landmarks.Count == 0 ? "no frames in the chosen part of the video" : $"no face found in any of its {landmarks.Count} frames");
        // frames before the first face got no landmarks: hold the first face
        var firstFace = landmarks.First(l => l.Length > 0);
        for (int i = 0; i < landmarks.Count && landmarks[i].Length == 0; i++) landmarks[i] = firstFace;
        var points = new List<PointD[]>();
        for (int k = 0; k < traj.Count; k++)
            if (alive[k] && traj[k].Count == landmarks.Count) points.Add([.. traj[k]]);
        return new DriverTrack
        {
            Path = path, Fps = reader.Fps, Width = reader.Width, Height = reader.Height, Start = opt.Start, Duration = opt.Duration,
            Landmarks = landmarks, Status = status, Points = points,
        };
    }

    /// <summary>Landmarks moved by optical flow from the previous frame, fused with the detector's raw landmarks.</summary>
    private static PointD[] FuseWithFlow(Mat prev, Mat next, PointD[] prevFused, PointD[] raw, Options opt)
    {
        var p0 = prevFused.Select(p => new Point2f((float)p.X, (float)p.Y)).ToArray();
        var p1 = TrackForwardBackward(prev, next, p0, opt.ForwardBackwardMaxPx, out var ok);
        double iod = Math.Max(1, FaceLandmarks.InterOcularDistance(raw));
        var result = new PointD[raw.Length];
        for (int k = 0; k < raw.Length; k++)
        {
            if (!ok[k]) { result[k] = raw[k]; continue; }
            var predicted = new PointD(p1[k].X, p1[k].Y);
            // agree (within ~2% IOD): mostly flow; disagree (flow lost the feature): the detector
            double d = PointD.Distance(predicted, raw[k]) / iod;
            double t = Math.Clamp((d - 0.02) / 0.04, 0, 1);
            double pull = opt.FusionPull + (1 - opt.FusionPull) * t;
            result[k] = predicted + pull * (raw[k] - predicted);
        }
        return result;
    }

    private static Point2f[] SelectPoints(Mat gray, PointD[] face, Options opt)
    {
        var box = FaceLandmarks.BoxFor(face, ShapePredictor.Default.InitialShape);
        double size = box.Width;
        using var mask = new Mat(gray.Size(), MatType.CV_8UC1, Scalar.All(0));
        var c = new Point((int)box.CenterX, (int)box.CenterY);
        Cv2.Circle(mask, c, (int)(opt.BandFaces * size), Scalar.All(255), -1);
        // not on the face itself: its landmarks already say how it moves
        var hull = Cv2.ConvexHull(face.Select(p => new Point((int)p.X, (int)p.Y)).ToArray());
        if (!opt.InsideFace) Cv2.FillConvexPoly(mask, hull, Scalar.All(0));
        var corners = Cv2.GoodFeaturesToTrack(gray, opt.MaxPoints, 0.01, Math.Max(4, size * 0.06), mask, 5, false, 0.04);
        return corners;
    }

    private static Point2f[] TrackForwardBackward(Mat prev, Mat next, Point2f[] pts, double maxFb, out bool[] ok)
    {
        var fwd = new Point2f[pts.Length];
        var back = new Point2f[pts.Length];
        var win = new Size(21, 21);
        var crit = new TermCriteria(CriteriaTypes.Count | CriteriaTypes.Eps, 20, 0.03);
        byte[] s1 = [], s2 = [];
        float[] e1 = [], e2 = [];
        Cv2.CalcOpticalFlowPyrLK(prev, next, pts, ref fwd, out s1, out e1, win, 3, crit);
        Cv2.CalcOpticalFlowPyrLK(next, prev, fwd, ref back, out s2, out e2, win, 3, crit);
        ok = new bool[pts.Length];
        for (int k = 0; k < pts.Length; k++)
        {
            double fb = Math.Sqrt((back[k].X - pts[k].X) * (back[k].X - pts[k].X) + (back[k].Y - pts[k].Y) * (back[k].Y - pts[k].Y));
            ok[k] = s1[k] == 1 && s2[k] == 1 && fb <= maxFb && fwd[k].X >= 0 && fwd[k].Y >= 0 && fwd[k].X < next.Width && fwd[k].Y < next.Height;
            if (!ok[k]) fwd[k] = pts[k];
        }
        return fwd;
    }
}
