// DriverTrack: everything the animation needs from the driving video, gathered in one streaming
// pass: the 68 landmarks of every frame (the tracker's, steadied by optical flow: each frame's
// landmarks are the previous ones moved by their Lucas-Kanade flow and pulled towards the
// detector's answer, fully where the two disagree; the sides of the face's outline placed across
// the outline by flow from the first frame), and trajectories of trackable points around and on
// the face (hair, ears, neck, shoulders, background, cheeks, forehead) followed by pyramidal
// Lucas-Kanade with a forward-backward check, those away from the face re-anchored to the first
// frame so they do not drift (TECHNIQUE.md stages 1 and 3).
// Requires: a readable video with a face. Guarantees: holds points, never frames (memory grows
// by a few kB per frame); Points[k][i] is defined for every frame i of the clip for the points
// that survived the whole clip (the others are dropped); frames without a face are bridged and
// counted; a clip with no face at all raises VivifyException naming the file, and so does a FaceIndex beyond the faces
// found where a face is first found (at once). A video larger
// than Options.MaxSide (a phone's 1080p or 4K clip) is analysed and read scaled down by a whole factor:
// Width, Height, landmarks and points are in the scaled frames ReadFrames gives.
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;

namespace Vivify.Animation;

public sealed class DriverTrack
{
    public required string Path { get; init; }
    public required double Fps { get; init; }
    /// <summary>Size of the frames analysed and read back (the video's, scaled by <see cref="Scale"/>).</summary>
    public required int Width { get; init; }
    public required int Height { get; init; }
    /// <summary>Frames are analysed and read at this scale of the video's own size (1, or less for a large video).</summary>
    public double Scale { get; init; } = 1;
    /// <summary>The part of the video analysed, seconds (as asked: --start, --duration); rendering decodes the same part.</summary>
    public required double Start { get; init; }
    public double? Duration { get; init; }
    /// <summary>Steadied landmarks per clip frame: the detector's raw predictions fused with their optical flow (Options.FlowFusion; the
    /// tracker's LandmarkSmoother output is used only without it, so FaceTrackerOptions.MinCutoffHz does not reach them).</summary>
    public required List<PointD[]> Landmarks { get; init; }
    public required List<TrackStatus> Status { get; init; }
    /// <summary>Non-facial point trajectories: Points[k][i] = point k in clip frame i.</summary>
    public required List<PointD[]> Points { get; init; }
    /// <summary>When each clip frame shows, seconds from the video's first picture (empty: at Fps from Start).</summary>
    public IReadOnlyList<double> Times { get; init; } = [];
    /// <summary>Per clip frame, both eyes' openings (lid height over width) as the detector read that frame alone, before
    /// smoothing (NaN where it did not: a bridged frame); empty when not recorded. A blink is faster than the smoothing
    /// follows (Eyes/BlinkDepth).</summary>
    public IReadOnlyList<(double Left, double Right)> RawEyeOpenings { get; init; } = [];
    /// <summary>Faces the detector found where the face was first found; Options.FaceIndex chose among them (0 the largest).</summary>
    public int FacesAtStart { get; init; } = 1;
    /// <summary>Whether the video broke off before the frame count its container announces (a damaged or unfinished
    /// file): the frames up to the break are the clip (VideoReader.DecodeStoppedEarly).</summary>
    public bool BrokeOff { get; init; }
    /// <summary>The frame count the container announces for the whole video (0 when it gives none).</summary>
    public int AnnouncedFrames { get; init; }
    public int FrameCount => Landmarks.Count;
    public int BridgedFrames => Status.Count(s => s == TrackStatus.Bridged);

    /// <summary>The whole factor the video is scaled down by (1 / Scale).</summary>
    private int ScaleFactor => Math.Max(1, (int)Math.Round(1 / Scale));

    /// <summary>Decodes frame i of the analysed part again (the caller disposes it).</summary>
    public Mat ReadFrame(int i)
    {
        using var reader = new VideoReader(Path);
        // the frames before it decoded but not converted to pictures
        foreach (var vf in reader.ScaledFrames(ScaleFactor, Start, Duration, skip: i)) return vf.Image;
        throw new VivifyException(Path, $"frame {i} of the analysed part could not be decoded again");
    }

    /// <summary>The analysed part's frames again, as analysed (scaled by <see cref="Scale"/>); the caller disposes each.</summary>
    public IEnumerable<VideoFrame> ReadFrames()
    {
        using var reader = new VideoReader(Path);
        foreach (var vf in reader.ScaledFrames(ScaleFactor, Start, Duration)) yield return vf;
    }

    /// <summary>The whole factor a large video is scaled down by: at most <paramref name="most"/>, less where the face
    /// (the one the tracker follows, found on the part's first frame scaled down by <paramref name="most"/>, given as
    /// <paramref name="reduced"/>) would be left with fewer than Options.MinWorkingIod pixels between the eyes;
    /// <paramref name="most"/> where no face is found there.</summary>
    private static int Factor(Mat reduced, int most, FaceDetector detector, Options opt)
    {
        var faces = detector.Detect(reduced);
        if (faces.Count == 0) return most;
        double iod = most * FaceLandmarks.InterOcularDistance(faces[Math.Min(opt.FaceIndex, faces.Count - 1)].Landmarks);
        return Math.Clamp((int)Math.Floor(iod / opt.MinWorkingIod), 1, most);
    }

    /// <summary>The part's frames as analysed: a large video's scaled down by the factor Factor finds on its first
    /// frame (read at the most reduced size; the part read again at a smaller factor where the face needs one).</summary>
    private static IEnumerable<VideoFrame> PartFrames(VideoReader reader, int most, FaceDetector detector, Options opt, Action<int> factorFound,
        Action<bool> brokeOff)
    {
        int factor = most;
        bool first = most > 1;      // a video that needs no scaling down has no factor to find
        foreach (var vf in reader.ScaledFrames(most, opt.Start, opt.Duration))
        {
            if (first)
            {
                first = false;
                factor = Factor(vf.Image, most, detector, opt);
                factorFound(factor);
                if (factor != most) { vf.Dispose(); break; }
            }
            yield return vf;
        }
        if (factor == most) { brokeOff(reader.DecodeStoppedEarly); yield break; }
        using var again = new VideoReader(reader.Path);
        foreach (var vf in again.ScaledFrames(factor, opt.Start, opt.Duration)) yield return vf;
        brokeOff(again.DecodeStoppedEarly);
    }

    public sealed record Options
    {
        /// <summary>The tracking an animation with these options needs: its part of the driver; the outline from flow
        /// only with expansion (so the plain-warp ablation warps the detector's own landmarks).</summary>
        public static Options For(AnimationOptions animation) =>
            new() { Start = animation.Start, Duration = animation.Duration, OutlineFromFlow = animation.Expansion };

        public double Start { get; init; }
        public double? Duration { get; init; }
        /// <summary>Which of the faces on the first frame with a face to follow (0 = the largest); one beyond the last
        /// raises VivifyException as soon as that frame is read.</summary>
        public int FaceIndex { get; init; }
        /// <summary>A video whose longer side is larger than this (pixels) is analysed and read scaled down by the smallest
        /// whole factor that brings it within. A phone's
        /// 4K clip (10 s of franck scaled to 2880x2160, audrey's portrait) took 24.6 s to track at full size; the
        /// face's landmarks and the warp need no more than a 720p frame's detail.</summary>
        public int MaxSide { get; init; } = 1280;
        /// <summary>...but not so far that the face has fewer pixels than this between the eyes (franck.mp4's 360x288
        /// frames have about 50, and track well).</summary>
        public double MinWorkingIod { get; init; } = 60;
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
        /// <summary>The same share for the lips (points 48-67). Speech moves them a little every frame, and the flow
        /// follows the inner lips' edges poorly as the mouth's dark appears and goes, so with the face's share they lag
        /// the detector. franck 20-30 s: the tracked mouth opening follows the detector's per-frame reading with
        /// correlation 0.954 at 0.5 against 0.907 at 0.2 (brows and eyes gain nothing from more); self-reenactment
        /// unchanged (27.31 dB), cap12 0-12 s AKD 0.577 -> 0.569 px.</summary>
        public double MouthFusionPull { get; init; } = 0.5;
        /// <summary>Re-anchor tracked points outside the face to the first frame (flow straight from frame 0, seeded by
        /// the chained position), so frame-to-frame drift does not build up on hair, ears and background; a refined
        /// position is kept only within <see cref="AnchorMaxPx"/> of the chained one and where it flows back to the
        /// point's frame-0 position. Points inside the face (or within <see cref="AnchorClearanceIod"/> of its landmark
        /// hull) stay chained: expressions change the skin's look there (eval self franck 20-30 s: anchoring them too
        /// lowers face-box PSNR by 0.12 dB).</summary>
        public bool AnchorPoints { get; init; } = true;
        public double AnchorMaxPx { get; init; } = 2.0;
        public double AnchorClearanceIod { get; init; } = 0.3;
        /// <summary>The sides of the face's outline (jaw landmarks 0-4 and 12-16, where the outline is the head's
        /// silhouette) take their motion across the outline from flow straight from the first frame: the outline is an
        /// edge, which flow finds across (not along) without drift, while the detector's contour points shift with the
        /// head's pose by a few pixels (eval self franck 20-30 s: face-box PSNR 27.30 vs 26.51 dB, SSIM 0.906 vs 0.898,
        /// AKD unchanged). Along the outline, and where the flow fails, does not flow back, or strays more than
        /// <see cref="OutlineMaxIod"/> from the detector, the detector's answer stays. The chin (5-11) is left to the
        /// detector: it lies over the neck, where flow follows the neck's shading (AKD there 0.6 -> 1.0 px with it).
        /// The animate and eval commands turn it off with --no-expansion, like the brow band, so that switch set
        /// still gives the plain warp of the detector's landmarks.</summary>
        public bool OutlineFromFlow { get; init; } = true;
        public double OutlineMaxIod { get; init; } = 0.1;
        /// <summary>Build each frame's flow pyramid once and share it between the flow calls (FlowImage); off, every
        /// call builds its own from the images, as OpenCV does by default. The two give the same tracks to the bit
        /// (DriverTrackTests), sharing at about 9% less tracking CPU.</summary>
        internal bool SharedPyramids { get; init; } = true;
    }

    /// <summary>Whether this OpenCvSharp lets the pass share its flow pyramids (else it builds them per call).</summary>
    internal static bool CanSharePyramids => FlowImage.CanShare;

    /// <summary>Runs the pass; <paramref name="progress"/> gets the number of frames done.</summary>
    public static DriverTrack Analyse(string path, FaceDetector detector, Options? options = null, Action<int>? progress = null)
    {
        var opt = options ?? new Options();
        using var reader = new VideoReader(path);
        // by a whole factor (OpenCV's area averaging has a fast path for it): 1440x1080 -> 720x540, 4K -> 1280x720,
        // decided on the part's first frame: a smaller factor where the face would be left too small
        int most = Math.Max(1, (int)Math.Ceiling((double)Math.Max(reader.Width, reader.Height) / opt.MaxSide));
        int factor = 1;
        bool brokeOff = false;
        var tracker = new FaceTracker(detector, reader.Fps, new FaceTrackerOptions { FaceIndex = opt.FaceIndex });
        var landmarks = new List<PointD[]>();
        var status = new List<TrackStatus>();
        var traj = new List<List<PointD>>();
        var alive = new List<bool>();
        var times = new List<double>();
        var rawEyes = new List<(double, double)>();
        FlowImage? prevGray = null;
        FlowImage? firstGray = null;
        FlowImage? outlineGray = null;
        // the first frame's and the outline's reference stay to the end; other frames go once nothing reads them
        void Release(FlowImage? g) { if (g is not null && g != firstGray && g != outlineGray) g.Dispose(); }
        PointD[]? outlineRef = null;
        var outlineShift = new double[17];
        Point2f[] pts = [];
        Point2f[] origin = [];
        bool[] anchorable = [];
        PointD[]? fused = null;
        List<int> live = [];
        // The points' flow from frame i-1 to i runs on a worker while this thread fuses the landmarks
        // and the tracker decodes and reads frame i+1; it is joined before frame i+1's flow starts.
        Task<(Point2f[] Next, bool[] Ok)>? pending = null;
        FlowImage? pendingFrom = null;
        void JoinPoints()
        {
            if (pending is null) return;
            var (next, ok) = pending.GetAwaiter().GetResult();
            pending = null;
            Release(pendingFrom); pendingFrom = null;
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
            foreach (var f in tracker.Track(PartFrames(reader, most, detector, opt, found => factor = found, b => brokeOff = b).Select(vf =>
            {
                times.Add(vf.Seconds);
                return vf;
            })))
            {
                using (f)
                {
                    // a face asked for beyond those found is refused at once, not after the whole clip
                    if (opt.FaceIndex > 0 && tracker.FirstFaceCount > 0 && opt.FaceIndex >= tracker.FirstFaceCount)
                        throw new VivifyException(path, $"--driver-face {opt.FaceIndex} asked for, but the driver shows {tracker.FirstFaceCount} face(s) where a face is first found (0 is the largest)");
                    status.Add(f.Status);
                    var gray = new FlowImage(f.Image, opt.SharedPyramids);
                    JoinPoints();
                    var raw = f.RawLandmarks ?? f.Landmarks;
                    rawEyes.Add(f.RawLandmarks is { Length: FaceLandmarks.Count } r ? (FaceLandmarks.EyeAspectRatio(r, 0), FaceLandmarks.EyeAspectRatio(r, 1)) : (double.NaN, double.NaN));
                    if (opt.TrackPoints && prevGray is not null && live.Count > 0)
                    {
                        // only points still alive are tracked: a lost point is dropped for good
                        var cur = live.Select(k => pts[k]).ToArray();
                        FlowImage from = prevGray, to = gray;
                        var anchorFrom = opt.AnchorPoints ? live.Select(k => origin[k]).ToArray() : null;
                        var anchorMask = live.Select(k => anchorable[k]).ToArray();
                        var first = firstGray;
                        pending = Task.Run(() =>
                        {
                            var next = TrackForwardBackward(from, to, cur, opt.ForwardBackwardMaxPx, out var ok);
                            if (anchorFrom is not null && first is not null) Anchor(first, to, anchorFrom, next, ok, anchorMask, opt);
                            return (next, ok);
                        });
                    }
                    if (opt.FlowFusion && raw is not null && fused is not null && prevGray is not null && f.Status != TrackStatus.Detected)
                        fused = FuseWithFlow(prevGray, gray, fused, raw, opt);
                    else fused = raw;
                    // the outline's shift is laid over the fused landmarks, never fed back into the fusion (its
                    // disagreement with the detector would turn the fusion's smoothing off)
                    var placed = fused;
                    if (opt.OutlineFromFlow && fused is not null && fused.Length > 0)
                    {
                        if (outlineGray is null) { outlineGray = gray; outlineRef = fused; }
                        else placed = OutlineByFlow(outlineGray, gray, outlineRef!, fused, outlineShift, opt);
                    }
                    landmarks.Add(opt.FlowFusion ? (placed ?? []) : (f.Landmarks ?? []));
                    if (opt.TrackPoints && prevGray is null)
                    {
                        // Points are chosen on the first frame with a face (usually frame 0).
                        if (f.Landmarks is not null)
                        {
                            pts = SelectPoints(gray.Gray, f.Landmarks, opt); live = [.. Enumerable.Range(0, pts.Length)];
                            origin = [.. pts];
                            var hull = Cv2.ConvexHull(f.Landmarks.Select(q => new Point2f((float)q.X, (float)q.Y)).ToArray());
                            double grow = FaceLandmarks.InterOcularDistance(f.Landmarks) * opt.AnchorClearanceIod;
                            anchorable = [.. pts.Select(q => Cv2.PointPolygonTest(hull, q, true) < -grow)];
                            if (opt.AnchorPoints) firstGray = gray;
                        }
                        foreach (var p in pts) { traj.Add([new PointD(p.X, p.Y)]); alive.Add(true); }
                        if (f.Landmarks is null) { Release(gray); progress?.Invoke(landmarks.Count); continue; }
                    }
                    if (opt.TrackPoints || opt.FlowFusion)
                    {
                        // the previous frame is disposed once the points' flow that reads it has been joined
                        if (pending is not null) pendingFrom = prevGray; else Release(prevGray);
                        prevGray = gray;
                    }
                    else Release(gray);
                    progress?.Invoke(landmarks.Count);
                }
            }
            JoinPoints();
        }
        finally
        {
            try { pending?.Wait(); } catch (AggregateException) { }
            foreach (var g in new[] { pendingFrom, prevGray, firstGray, outlineGray }.OfType<FlowImage>().Distinct()) g.Dispose();
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
            Path = path, Fps = reader.Fps, Start = opt.Start, Duration = opt.Duration, Scale = 1.0 / factor,
            Width = reader.ScaledSize(factor).Width, Height = reader.ScaledSize(factor).Height,
            Landmarks = landmarks, Status = status, Points = points, Times = times.Count == landmarks.Count ? times : [],
            RawEyeOpenings = rawEyes.Count == landmarks.Count ? rawEyes : [],
            FacesAtStart = tracker.FirstFaceCount, BrokeOff = brokeOff, AnnouncedFrames = reader.FrameCountHint,
        };
    }

    /// <summary>Landmarks moved by optical flow from the previous frame, fused with the detector's raw landmarks.</summary>
    private static PointD[] FuseWithFlow(FlowImage prev, FlowImage next, PointD[] prevFused, PointD[] raw, Options opt)
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
            double basePull = k >= 48 ? opt.MouthFusionPull : opt.FusionPull;   // 48-67: the lips
            double pull = basePull + (1 - basePull) * t;
            result[k] = predicted + pull * (raw[k] - predicted);
        }
        return result;
    }

    /// <summary>Share of the gap to the flow's answer that an outline point's shift closes each frame.</summary>
    private const double OutlineFollow = 0.25;

    /// <summary>Jaw-line landmarks moved across the outline towards where flow from the reference frame puts them.
    /// <paramref name="shift"/> carries each point's shift across the outline (pixels) from frame to frame: it follows
    /// the flow's answer by a quarter each frame and fades out while the flow has none, so the outline never jumps
    /// (franck 20-30 s: the side points move 0.33 px a frame on average with it or without it; with the shift taken
    /// afresh each frame, 0.53 px and jumps of up to 5 px).</summary>
    private static PointD[] OutlineByFlow(FlowImage refGray, FlowImage gray, PointD[] refLm, PointD[] lm, double[] shift, Options opt)
    {
        const int n = 17;
        var p0 = new Point2f[n]; var seed = new Point2f[n];
        for (int k = 0; k < n; k++) { p0[k] = new Point2f((float)refLm[k].X, (float)refLm[k].Y); seed[k] = new Point2f((float)lm[k].X, (float)lm[k].Y); }
        var p1 = FlowForwardBackward(refGray, gray, p0, seed, new Size(15, 15), 1,
            new TermCriteria(CriteriaTypes.Count | CriteriaTypes.Eps, 30, 0.01), opt.ForwardBackwardMaxPx, out var flowed);
        double iod = Math.Max(1, FaceLandmarks.InterOcularDistance(lm));
        var result = (PointD[])lm.Clone();
        for (int k = 0; k < n; k++)
        {
            if (k >= 5 && k <= 11) continue;   // the chin: see OutlineFromFlow
            var t = lm[Math.Min(n - 1, k + 1)] - lm[Math.Max(0, k - 1)];
            double len = Math.Sqrt(t.X * t.X + t.Y * t.Y);
            if (len < 1e-6) continue;
            double nx = -t.Y / len, ny = t.X / len;
            bool found = flowed[k];
            double across = found ? (p1[k].X - lm[k].X) * nx + (p1[k].Y - lm[k].Y) * ny : 0;
            if (Math.Abs(across) > opt.OutlineMaxIod * iod) found = false;
            shift[k] = found ? shift[k] + OutlineFollow * (across - shift[k]) : 0.8 * shift[k];
            result[k] = new PointD(lm[k].X + shift[k] * nx, lm[k].Y + shift[k] * ny);
        }
        return result;
    }

    private static Point2f[] SelectPoints(Mat gray, PointD[] face, Options opt)
    {
        // the box of the face as if upright: the axis-aligned fit shrinks with the head's roll (to nothing on a clip
        // filmed sideways, which then had no points at all)
        var box = UprightView.BoxOf(face, ShapePredictor.Default.InitialShape);
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

    /// <summary>Refines chained positions by flow straight from the first frame (seeded by them); keeps a refinement
    /// only where it stays near the chained position and its backward flow returns to the frame-0 point.</summary>
    private static void Anchor(FlowImage first, FlowImage next, Point2f[] origin, Point2f[] chained, bool[] ok, bool[] mask, Options opt)
    {
        // only the points that can be anchored and were followed this frame are refined (Lucas-Kanade treats each
        // point on its own, so leaving the others out changes nothing but the time: tracking cap12_edit 0-10 s, 10.7 ->
        // 9.9 ms a frame, medians of six runs, the same points and landmarks to the bit)
        var which = Enumerable.Range(0, origin.Length).Where(k => mask[k] && ok[k]).ToArray();
        if (which.Length == 0) return;
        var refined = FlowForwardBackward(first, next, [.. which.Select(k => origin[k])], [.. which.Select(k => chained[k])], new Size(21, 21), 1,
            new TermCriteria(CriteriaTypes.Count | CriteriaTypes.Eps, 20, 0.03), opt.ForwardBackwardMaxPx, out var found);
        for (int j = 0; j < which.Length; j++)
        {
            int k = which[j];
            if (!found[j]) continue;
            double dx = refined[j].X - chained[k].X, dy = refined[j].Y - chained[k].Y;
            if (dx * dx + dy * dy > opt.AnchorMaxPx * opt.AnchorMaxPx) continue;
            chained[k] = refined[j];
        }
    }

    private static Point2f[] TrackForwardBackward(FlowImage prev, FlowImage next, Point2f[] pts, double maxFb, out bool[] ok)
    {
        var fwd = FlowForwardBackward(prev, next, pts, null, new Size(21, 21), 3, new TermCriteria(CriteriaTypes.Count | CriteriaTypes.Eps, 20, 0.03), maxFb, out ok);
        for (int k = 0; k < pts.Length; k++)
        {
            ok[k] = ok[k] && fwd[k].X >= 0 && fwd[k].Y >= 0 && fwd[k].X < next.Width && fwd[k].Y < next.Height;
            if (!ok[k]) fwd[k] = pts[k];
        }
        return fwd;
    }

    /// <summary>Pyramidal Lucas-Kanade flow of <paramref name="pts"/> from one image to another and back; a point is
    /// found where both directions converge and the way back ends within <paramref name="maxFb"/> pixels of where it
    /// started. With <paramref name="seed"/>, the forward flow starts from it and the backward flow from the points.</summary>
    private static Point2f[] FlowForwardBackward(FlowImage from, FlowImage to, Point2f[] pts, Point2f[]? seed, Size win, int levels, TermCriteria crit,
        double maxFb, out bool[] found)
    {
        var flags = seed is null ? OpticalFlowFlags.None : OpticalFlowFlags.UseInitialFlow;
        var fwd = seed is null ? new Point2f[pts.Length] : (Point2f[])seed.Clone();
        var back = seed is null ? new Point2f[pts.Length] : (Point2f[])pts.Clone();
        using (var a = from.Input()) using (var b = to.Input())
        {
            Cv2.CalcOpticalFlowPyrLK(a, b, pts, ref fwd, out var s1, out _, win, levels, crit, flags);
            Cv2.CalcOpticalFlowPyrLK(b, a, fwd, ref back, out var s2, out _, win, levels, crit, flags);
            found = new bool[pts.Length];
            for (int k = 0; k < pts.Length; k++)
            {
                double bx = back[k].X - pts[k].X, by = back[k].Y - pts[k].Y;
                found[k] = s1[k] == 1 && s2[k] == 1 && Math.Sqrt(bx * bx + by * by) <= maxFb;
            }
        }
        return fwd;
    }

    /// <summary>A frame's grey image with its Lucas-Kanade pyramid (levels and their Scharr derivatives, bordered for
    /// the largest window the pass uses), built once and read by every flow call that touches the frame: each
    /// CalcOpticalFlowPyrLK given images builds both pyramids again, about eight times per frame here. The flow is
    /// the same to the bit as from the images (the levels and derivatives come from the same OpenCV code; a smaller
    /// window reads within the wider border). OpenCvSharp's own InputArray.Create(IEnumerable&lt;Mat&gt;) is unusable
    /// for this: it frees the native vector it points to before returning (OpenCV then reads a dangling vector), so
    /// the proxy is made here over a vector this object keeps alive; where that cannot be done (another OpenCvSharp),
    /// the flow reads the grey image and builds its pyramids as before.</summary>
    private sealed class FlowImage : IDisposable
    {
        /// <summary>Largest window and pyramid depth of the pass's flow calls (TrackForwardBackward's).</summary>
        private static readonly Size MaxWindow = new(21, 21);
        private const int MaxLevels = 3;

        public Mat Gray { get; } = new();
        private readonly Mat[] _levels = [];
        private readonly OpenCvSharp.Internal.Vectors.VectorOfMat? _vector;
        public int Width => Gray.Width;
        public int Height => Gray.Height;

        public static bool CanShare => ProxyCtor is not null;

        public FlowImage(Mat bgr, bool pyramid)
        {
            Cv2.CvtColor(bgr, Gray, ColorConversionCodes.BGR2GRAY);
            if (!pyramid || ProxyCtor is null) return;
            Cv2.BuildOpticalFlowPyramid(Gray, out _levels, MaxWindow, MaxLevels, withDerivatives: true);
            _vector = new OpenCvSharp.Internal.Vectors.VectorOfMat(_levels);
        }

        /// <summary>The pyramid as a flow call's input (dispose it after the call), or the grey image.</summary>
        public InputArray Input()
        {
            if (_vector is not null && core_InputArray_new_byVectorOfMat(_vector.CvPtr, out var proxy) == 0 && proxy != IntPtr.Zero)
                return (InputArray)ProxyCtor!.Invoke([proxy]);
            return InputArray.Create(Gray);
        }

        public void Dispose()
        {
            _vector?.Dispose();
            foreach (var m in _levels) m.Dispose();
            Gray.Dispose();
        }

        [System.Runtime.InteropServices.DllImport("OpenCvSharpExtern", CallingConvention = System.Runtime.InteropServices.CallingConvention.Cdecl)]
        private static extern int core_InputArray_new_byVectorOfMat(IntPtr vector, out IntPtr proxy);

        /// <summary>InputArray's constructor over a native proxy (it deletes the proxy when disposed); null if absent.</summary>
        private static readonly System.Reflection.ConstructorInfo? ProxyCtor = FindProxyCtor();
        private static System.Reflection.ConstructorInfo? FindProxyCtor()
        {
            try
            {
                var ctor = typeof(InputArray).GetConstructor(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, [typeof(IntPtr)]);
                if (ctor is null) return null;
                using var probe = new OpenCvSharp.Internal.Vectors.VectorOfMat();
                if (core_InputArray_new_byVectorOfMat(probe.CvPtr, out var p) != 0 || p == IntPtr.Zero) return null;
                ((InputArray)ctor.Invoke([p])).Dispose();
                return ctor;
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException or System.Reflection.TargetInvocationException or MemberAccessException) { return null; }
        }
    }
}
