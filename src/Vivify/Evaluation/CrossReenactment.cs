// CrossReenactment: does the animated portrait move like the driver? Our own landmark engine is
// run on every output frame and every driver frame; each frame's landmark displacement from
// frame 0 is taken with the head's similarity motion removed (fit on stable points) and divided
// by the inter-ocular distance, then compared between output and driver: correlation and
// amplitude gain (least-squares slope, output on driver) overall (all 68 points, x and y, the
// driver's displacements turned by the alignment's rotation) and for two expression measures:
// brow raise (eyes-to-brows height) and mouth opening (inner-lip gap); the brow raise also on the
// frames where the driver's eyes are open alone (the engine misreads shut eyes); and, as a reference
// for what the engine reads of a clear opening on this face, the mouth opening read from the output
// with its inner-lip polygon painted dark exactly where the warp put it (not a bound: teeth can
// read wider than the flat dark).
// The same scores are also taken on the readings tracked, as the engine reads a video (each sequence
// through the tracker's LandmarkSmoother), and, as the instrument's own ceiling, between two readings
// of the driver's real frames: as they are and enlarged by EnlargedReading (bicubic). No output can
// follow the driver better than the engine agrees with itself on the same real face. The overall
// score is also broken down by facial region, for the output's readings and for where the warp put
// the landmarks (what the animation commanded, before any reading of pixels); and the output's
// readings against the driver's track (what the animation was given) instead of its readings.
// Guarantees: streams; frames whose face was bridged in the driver are left out.
using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;

namespace Vivify.Evaluation;

/// <summary>How one series follows another: correlation, least-squares gain (slope, output on driver) and amplitude (the ratio
/// of their standard deviations). Noise in the driver's reading lowers the slope by about the squared correlation even for a
/// perfect follower (regression dilution); the amplitude ratio is not diluted by it (noise in either reading raises it a little).</summary>
public sealed record FollowScore(double Correlation, double Gain, double Amplitude);

/// <summary>One reading's scores: correlation / gain overall, for the brow raise (also on the frames where the driver's eyes
/// are open alone) and the mouth opening, and the mean opening over the driver's on its open-mouthed frames (null if none).</summary>
public sealed record FollowScores(FollowScore Overall, FollowScore BrowRaise, FollowScore MouthOpening, FollowScore BrowRaiseEyesOpen,
    int OpenMouthFrames, double? OpenMouthGain, IReadOnlyDictionary<string, FollowScore> Regions)
{
    /// <summary>The overall score's points by facial region (dlib's 68-point numbering).</summary>
    public static readonly (string Name, int From, int To)[] RegionRanges =
        [("jaw", 0, 17), ("brows", 17, 27), ("nose", 27, 36), ("eyes", 36, 48), ("outer lips", 48, 60), ("inner lips", 60, 68)];
}

public sealed record CrossReenactmentResult(string Portrait, string Driver, int Frames, FollowScore Overall, FollowScore BrowRaise, FollowScore MouthOpening,
    double DriverBrowRange, double DriverMouthRange, FollowScore CommandedBrowRaise, FollowScore CommandedMouthOpening,
    double BorderChangeMax, double FarChangeMean, int OpenMouthFrames = 0, double? OpenMouthGain = null,
    FollowScore? BrowRaiseEyesOpen = null, int EyesOpenFrames = 0, FollowScore? PaintedMouthOpening = null,
    FollowScores? Tracked = null, FollowScores? EngineAgreement = null, FollowScores? EngineAgreementTracked = null,
    IReadOnlyDictionary<string, FollowScore>? Regions = null, FollowScores? Commanded = null, FollowScores? AgainstTrack = null)
{
    /// <summary>The instrument's ceiling reads the driver's frames a second time enlarged by this factor (bicubic).</summary>
    public const double EnlargedReading = 1.05;

    /// <summary>A driver frame whose eyes our engine reads at least this share of their median opening has its eyes open: the
    /// engine misreads shut eyes (it reads franck's blink as a brow raise of 0.07 IOD, most of his brow range, and our
    /// output's shut eyes otherwise), so the brow raise is also scored on those frames alone.</summary>
    public const double EyesOpenShare = 0.8;

    /// <summary>A driver frame whose inner lips part at least this much more than in frame 0 (IODs) is open-mouthed.</summary>
    public const double OpenMouthThreshold = Mouth.MouthTransfer.OpenMouthGap;
}

public static class CrossReenactment
{
    public static CrossReenactmentResult Run(string portraitPath, Mat portrait, string driverPath, AnimationOptions options, FaceDetector detector,
        Action<int>? progress = null, DriverTrack.Options? driverOptions = null)
    {
        var driver = DriverTrack.Analyse(driverPath, detector, driverOptions ?? DriverTrack.Options.For(options));
        using var animator = new PortraitAnimator(portrait, portraitPath, driver, detector, options);
        var outLm = new List<PointD[]>(); var drvLm = new List<PointD[]>(); var keep = new List<bool>(); var cmdLm = new List<PointD[]>();
        var paintedLm = new List<PointD[]>(); var enlargedLm = new List<PointD[]>();
        using var first = new Mat();
        // stillness: the image border (outer 2 pixels) against frame 0, and far from the face (beyond 1.5 face
        // widths of its centre) between consecutive frames
        using var borderMask = new Mat(portrait.Size(), MatType.CV_8UC1, Scalar.All(255));
        const int bw = 2;
        borderMask[new Rect(bw, bw, portrait.Width - 2 * bw, portrait.Height - 2 * bw)].SetTo(Scalar.All(0));
        using var farMask = new Mat(portrait.Size(), MatType.CV_8UC1, Scalar.All(255));
        var fc = FaceLandmarks.Mean(animator.PortraitLandmarks);
        Cv2.Circle(farMask, new Point((int)fc.X, (int)fc.Y), (int)(1.5 * animator.PortraitFace.Box.Width), Scalar.All(0), -1);
        bool farEmpty = Cv2.CountNonZero(farMask) == 0;
        using var previous = new Mat();
        double borderMax = 0, farSum = 0; int farN = 0;
        foreach (var (i, frame, driverFrame) in animator.RenderAll())
        {
            if (i == 0) frame.CopyTo(first);
            else
            {
                using var d0 = new Mat(); Cv2.Absdiff(frame, first, d0);
                borderMax = Math.Max(borderMax, Grey(Cv2.Mean(d0, borderMask)));
                using var d1 = new Mat(); Cv2.Absdiff(frame, previous, d1);
                if (!farEmpty) { farSum += Grey(Cv2.Mean(d1, farMask)); farN++; }
            }
            frame.CopyTo(previous);
            outLm.Add(SelfReenactment.LandmarksOn(frame, animator.LandmarksAt(i), detector));
            cmdLm.Add(animator.LandmarksAt(i));
            using (var painted = PaintedOpening(frame, cmdLm[^1])) paintedLm.Add(SelfReenactment.LandmarksOn(painted, cmdLm[^1], detector));
            drvLm.Add(SelfReenactment.LandmarksOn(driverFrame, driver.Landmarks[i], detector));
            enlargedLm.Add(ReadEnlarged(driverFrame, driver.Landmarks[i], detector));
            keep.Add(driver.Status[i] != TrackStatus.Bridged);
            progress?.Invoke(i + 1);
        }
        double rot = animator.Points.Alignment.RotationRadians;
        // the frames where the driver's eyes are open, as the engine reads them frame by frame
        var eyes = new double[outLm.Count];
        for (int k = 1; k < outLm.Count; k++) eyes[k] = EyesOpening(drvLm[k]);
        var kept = Enumerable.Range(1, outLm.Count - 1).Where(k => keep[k]).Select(k => eyes[k]).Order().ToList();
        double usual = kept[kept.Count / 2];
        var eyesOpen = new bool[outLm.Count];
        for (int k = 1; k < outLm.Count; k++) eyesOpen[k] = keep[k] && eyes[k] >= CrossReenactmentResult.EyesOpenShare * usual;
        var raw = Score(outLm, drvLm, keep, eyesOpen, rot);
        var drvTracked = Track(drvLm, driver.Fps);
        var tracked = Score(Track(outLm, driver.Fps), drvTracked, keep, eyesOpen, rot);
        var agreement = Score(enlargedLm, drvLm, keep, eyesOpen, 0);
        var agreementTracked = Score(Track(enlargedLm, driver.Fps), drvTracked, keep, eyesOpen, 0);
        // the same measures on where the warp put the landmarks (before any detector reads the output)
        var commanded = Score(cmdLm, drvLm, keep, eyesOpen, rot);
        var againstTrack = Score(outLm, [.. driver.Landmarks.Take(outLm.Count)], keep, eyesOpen, rot);
        // the reference: the output with its opening painted dark exactly where the warp put the inner lips
        var db = new List<double>(); var dm = new List<double>(); var pm = new List<double>();
        for (int k = 1; k < paintedLm.Count; k++)
        {
            if (!keep[k]) continue;
            db.Add(Brow(drvLm[k]) - Brow(drvLm[0])); dm.Add(Mouth(drvLm[k]) - Mouth(drvLm[0]));
            pm.Add(Mouth(paintedLm[k]) - Mouth(paintedLm[0]));
        }
        return new CrossReenactmentResult(portraitPath, driverPath, outLm.Count, raw.Overall, raw.BrowRaise, raw.MouthOpening,
            db.Max() - db.Min(), dm.Max() - dm.Min(), commanded.BrowRaise, commanded.MouthOpening, borderMax, farN > 0 ? farSum / farN : 0, raw.OpenMouthFrames, raw.OpenMouthGain,
            raw.BrowRaiseEyesOpen, eyesOpen.Count(x => x), Follow(pm, dm), tracked, agreement, agreementTracked, raw.Regions, commanded, againstTrack);
    }

    /// <summary>Scores of the output's readings <paramref name="outLm"/> against the driver's <paramref name="drvLm"/> over the kept
    /// frames after frame 0; the driver's displacements turned by <paramref name="rotation"/> (the alignment's).</summary>
    private static FollowScores Score(List<PointD[]> outLm, List<PointD[]> drvLm, List<bool> keep, bool[] eyesOpen, double rotation)
    {
        var o = Displacements(outLm, 0); var d = Displacements(drvLm, rotation);
        var ov = new List<double>(); var dv = new List<double>();
        var ob = new List<double>(); var db = new List<double>(); var om = new List<double>(); var dm = new List<double>();
        var obe = new List<double>(); var dbe = new List<double>();
        var rs = FollowScores.RegionRanges;
        var ro = rs.Select(_ => new List<double>()).ToArray(); var rd = rs.Select(_ => new List<double>()).ToArray();
        double ob0 = Brow(outLm[0]), db0 = Brow(drvLm[0]), om0 = Mouth(outLm[0]), dm0 = Mouth(drvLm[0]);
        for (int k = 1; k < outLm.Count; k++)
        {
            if (!keep[k]) continue;
            ov.AddRange(o[k]); dv.AddRange(d[k]);
            for (int j = 0; j < rs.Length; j++) { ro[j].AddRange(o[k][(2 * rs[j].From)..(2 * rs[j].To)]); rd[j].AddRange(d[k][(2 * rs[j].From)..(2 * rs[j].To)]); }
            ob.Add(Brow(outLm[k]) - ob0); db.Add(Brow(drvLm[k]) - db0);
            om.Add(Mouth(outLm[k]) - om0); dm.Add(Mouth(drvLm[k]) - dm0);
            if (eyesOpen[k]) { obe.Add(ob[^1]); dbe.Add(db[^1]); }
        }
        // the mouth's amplitude where the driver's mouth is open: mean output opening over mean driver opening
        var open = Enumerable.Range(0, dm.Count).Where(k => dm[k] >= CrossReenactmentResult.OpenMouthThreshold).ToList();
        double? openGain = open.Count > 0 ? open.Average(k => om[k]) / open.Average(k => dm[k]) : null;
        var regions = new Dictionary<string, FollowScore>();
        for (int j = 0; j < rs.Length; j++) regions[rs[j].Name] = Follow(ro[j], rd[j]);
        return new FollowScores(Follow(ov, dv), Follow(ob, db), Follow(om, dm), Follow(obe, dbe), open.Count, openGain, regions);
    }

    /// <summary>A sequence of readings as the engine's tracker smooths it (its LandmarkSmoother at its default cut-off).</summary>
    private static List<PointD[]> Track(List<PointD[]> raw, double fps)
    {
        var smoother = new LandmarkSmoother(fps, new FaceTrackerOptions().MinCutoffHz);
        return [.. raw.Select(l => smoother.Filter(l))];
    }

    /// <summary>Our engine's reading of <paramref name="frame"/> enlarged by <see cref="CrossReenactmentResult.EnlargedReading"/>
    /// (bicubic), in the frame's own coordinates: the same real face read a second time.</summary>
    private static PointD[] ReadEnlarged(Mat frame, PointD[] near, FaceDetector detector)
    {
        const double f = CrossReenactmentResult.EnlargedReading;
        using var big = new Mat();
        Cv2.Resize(frame, big, new Size((int)Math.Round(frame.Width * f), (int)Math.Round(frame.Height * f)), 0, 0, InterpolationFlags.Cubic);
        double fx = (double)big.Width / frame.Width, fy = (double)big.Height / frame.Height;
        // pixel centres: x_big + 0.5 = (x + 0.5) * f
        var lm = SelfReenactment.LandmarksOn(big, [.. near.Select(p => new PointD((p.X + 0.5) * fx - 0.5, (p.Y + 0.5) * fy - 0.5))], detector);
        return [.. lm.Select(p => new PointD((p.X + 0.5) / fx - 0.5, (p.Y + 0.5) / fy - 0.5))];
    }

    /// <summary>A copy of <paramref name="frame"/> whose inner-lip polygon (points 60-67 of <paramref name="landmarks"/>) is
    /// filled with the dark of an open mouth (antialiased): an opening the engine has every cue to read.</summary>
    private static Mat PaintedOpening(Mat frame, PointD[] landmarks)
    {
        var painted = frame.Clone();
        var poly = landmarks[60..68].Select(p => new Point((int)Math.Round(p.X * 16), (int)Math.Round(p.Y * 16))).ToArray();
        Cv2.FillPoly(painted, [poly], new Scalar(30, 20, 25), LineTypes.AntiAlias, 4);
        return painted;
    }

    private static double Grey(Scalar s) => (s.Val0 + s.Val1 + s.Val2) / 3;

    /// <summary>Per frame, the 136 displacement values from frame 0 with head motion removed, over IOD, turned by <paramref name="rotation"/>.</summary>
    private static List<double[]> Displacements(List<PointD[]> lm, double rotation)
    {
        var l0 = lm[0];
        double iod = FaceLandmarks.InterOcularDistance(l0);
        double c = Math.Cos(rotation), s = Math.Sin(rotation);
        var r = new List<double[]>();
        foreach (var l in lm)
        {
            var head = Similarity.Fit(l, l0, Correspondences.StableIndices);
            var v = new double[l.Length * 2];
            for (int k = 0; k < l.Length; k++)
            {
                var dd = head.Apply(l[k]) - l0[k];
                v[2 * k] = (c * dd.X - s * dd.Y) / iod; v[2 * k + 1] = (s * dd.X + c * dd.Y) / iod;
            }
            r.Add(v);
        }
        return r;
    }

    /// <summary>Height of the brows above the eyes, over IOD, in the face's own frame (rotation removed).</summary>
    public static double Brow(PointD[] l) => UprightHeight(l, [36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47], [17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);

    /// <summary>Both eyes' openings (lid heights over width), summed.</summary>
    private static double EyesOpening(PointD[] l) => FaceLandmarks.EyeAspectRatio(l, 0) + FaceLandmarks.EyeAspectRatio(l, 1);

    /// <summary>Gap between the inner lips, over IOD, in the face's own frame.</summary>
    public static double Mouth(PointD[] l) => UprightHeight(l, [61, 62, 63], [65, 66, 67]) * -1;

    /// <summary>Mouth width (outer corners) over IOD: widens in a smile.</summary>
    public static double Smile(PointD[] l) => PointD.Distance(l[48], l[54]) / FaceLandmarks.InterOcularDistance(l);

    private static double UprightHeight(PointD[] l, int[] lower, int[] upper)
    {
        var le = FaceLandmarks.LeftEyeCenter(l); var re = FaceLandmarks.RightEyeCenter(l);
        double ang = Math.Atan2(re.Y - le.Y, re.X - le.X), c = Math.Cos(-ang), s = Math.Sin(-ang);
        double Y(PointD p) => s * p.X + c * p.Y;
        return (lower.Average(i => Y(l[i])) - upper.Average(i => Y(l[i]))) / FaceLandmarks.InterOcularDistance(l);
    }

    /// <summary>Correlation, least-squares gain (slope) and amplitude ratio of <paramref name="output"/> on <paramref name="driver"/>.</summary>
    internal static FollowScore Follow(IReadOnlyList<double> output, IReadOnlyList<double> driver)
    {
        int n = output.Count;
        double mo = output.Average(), md = driver.Average();
        double sod = 0, sdd = 0, soo = 0;
        for (int k = 0; k < n; k++) { double a = output[k] - mo, b = driver[k] - md; sod += a * b; sdd += b * b; soo += a * a; }
        return new FollowScore(sod / Math.Sqrt(Math.Max(sdd * soo, 1e-30)), sod / Math.Max(sdd, 1e-30), Math.Sqrt(soo / Math.Max(sdd, 1e-30)));
    }
}
