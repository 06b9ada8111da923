// NeutralFrame: picks the driver's reference frame V_0 automatically (TECHNIQUE.md stage 1): the
// frame whose landmarks, aligned to the portrait's by a similarity, lie closest to them, i.e.
// the driver frame most like the portrait's own (roughly neutral) expression and pose. Frames
// whose eyes are much less open than the driver's usual (a blink, a look down) are passed over
// unless the portrait's own eyes are closed: the eyes weigh little in the shape distance, and a
// closed-eyed reference would open the portrait's eyes into a stare on every other frame.
// Likewise frames whose mouth is open wider than the portrait's (or, for an open-mouthed portrait
// or a driver that never closes, the clip's nearly closed frames) by more than MaxExtraGap are
// passed over: a broadly smiling portrait is closest in shape to a frame where the driver's mouth
// is half open, and that reference would close the portrait's lips into each other whenever the
// driver's mouth is shut and hide every opening smaller than the reference's. And frames whose head is
// rolled more than MaxExtraRollDegrees further from the portrait's roll than the clip's least rolled
// frame are passed over: the portrait would start tilted by the difference. Among frames within NearTieShare of
// the closest, the one whose brows and eyes are most like the driver's typical frames (the per-landmark median) is
// taken, so that grain in the driver does not swing the choice between a wide-eyed and a narrow-eyed reference.
// Guarantees: a frame with a detected or tracked face when there is one (bridged frames are
// guesses); with open portrait eyes, a frame whose eyes are at least MinEyeOpenness of the clip's
// median openness; a frame whose inner-lip gap is at most MaxExtraGap above the larger of the
// portrait's gap and the clip's 10th-percentile gap; ties go to the earliest frame.
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Mouth;

namespace Vivify.Animation;

public static class NeutralFrame
{
    /// <summary>Mean distance between the portrait's landmarks and the frame's, aligned onto them, over the portrait's inter-ocular distance.</summary>
    public static double Distance(PointD[] portrait, PointD[] frame) => AlignedDistance(portrait, frame, Enumerable.Range(0, portrait.Length));

    /// <summary>Mean distance of the given landmarks of <paramref name="frame"/>, aligned onto <paramref name="target"/> by the
    /// whole face's similarity, over the target's inter-ocular distance.</summary>
    private static double AlignedDistance(PointD[] target, PointD[] frame, IEnumerable<int> landmarks)
    {
        var s = Similarity.Fit(frame, target);
        double sum = 0; int n = 0;
        foreach (int k in landmarks) { sum += PointD.Distance(s.Apply(frame[k]), target[k]); n++; }
        return sum / n / FaceLandmarks.InterOcularDistance(target);
    }

    /// <summary>A candidate's eye openness, as a share of the clip's median (when the portrait's eyes are open).</summary>
    public const double MinEyeOpenness = 0.85;
    /// <summary>Portrait eyes less open than this share of the driver's median openness count as closed.</summary>
    public const double ClosedEyes = 0.5;

    /// <summary>How much further (degrees) a candidate's head may be rolled from the portrait's than the clip's least rolled
    /// frame's. A driver who tilts his head to 45 degrees and holds it there had his tilted frames taken for the reference
    /// (their shape is as close to the portrait's as his upright ones': the similarity takes the roll out), and the
    /// portrait then started tilted 45 degrees the other way.</summary>
    public const double MaxExtraRollDegrees = 15;

    /// <summary>How much wider (inner-lip gap over IOD) a candidate's mouth may be than the portrait's, or than the clip's nearly closed frames.</summary>
    public const double MaxExtraGap = 0.02;

    /// <summary>Eye openness: the mean lid-to-lid distance of both eyes over the inter-ocular distance.</summary>
    public static double EyeOpenness(PointD[] l) =>
        (PointD.Distance(l[37], l[41]) + PointD.Distance(l[38], l[40]) + PointD.Distance(l[43], l[47]) + PointD.Distance(l[44], l[46]))
        / (4 * FaceLandmarks.InterOcularDistance(l));

    public static int Choose(DriverTrack driver, PointD[] portrait) => Choose(driver, portrait, NearTieShare);

    /// <summary>Choose with the near ties' share given (0: the closest frame alone).</summary>
    internal static int Choose(DriverTrack driver, PointD[] portrait, double nearTieShare)
    {
        var faces = Enumerable.Range(0, driver.FrameCount).Where(i => driver.Status[i] is not (TrackStatus.Bridged or TrackStatus.Missing)).ToList();
        var openness = faces.Select(i => EyeOpenness(driver.Landmarks[i])).ToArray();
        var gaps = faces.Select(i => MouthTransfer.Gap(driver.Landmarks[i])).ToArray();
        double minOpen = 0, maxGap = double.MaxValue;
        if (faces.Count > 0)
        {
            double median = openness.Order().ElementAt(openness.Length / 2);
            if (EyeOpenness(portrait) >= ClosedEyes * median) minOpen = MinEyeOpenness * median;
            double closed = gaps.Order().ElementAt(gaps.Length / 10);
            maxGap = Math.Max(MouthTransfer.Gap(portrait), closed) + MaxExtraGap;
        }
        // the head's roll: the shape distance does not see it (the similarity takes it out)
        double portraitRoll = UprightView.RollOf(portrait);
        var rolls = faces.Select(i => Math.Abs(Math.IEEERemainder(UprightView.RollOf(driver.Landmarks[i]) - portraitRoll, 2 * Math.PI))).ToArray();
        double maxRoll = rolls.Length > 0 ? rolls.Min() + MaxExtraRollDegrees * Math.PI / 180 : 0;
        var allowed = new List<(int Frame, double D)>();
        for (int f = 0; f < faces.Count; f++)
        {
            int i = faces[f];
            if (openness[f] < minOpen || gaps[f] > maxGap || rolls[f] > maxRoll) continue;
            allowed.Add((i, Distance(portrait, driver.Landmarks[i])));
        }
        if (allowed.Count == 0) return 0;
        double bestD = allowed.Min(a => a.D);
        // near ties (within the reading's noise) go to the frame whose brows and eyes are most like the driver's typical ones, so that the
        // portrait's expression is what the driver's usual frames give it, not a stare or a squint
        var near = allowed.Where(a => a.D <= bestD * (1 + nearTieShare)).ToList();
        if (near.Count == 1) return near[0].Frame;
        var typical = TypicalShape(driver, faces, portrait);
        int best = near[0].Frame; double bestT = double.MaxValue;
        foreach (var (i, _) in near)
        {
            double t = UpperFaceDistance(typical, driver.Landmarks[i]);
            if (t < bestT - 1e-12) { bestT = t; best = i; }
        }
        return best;
    }

    /// <summary>How much further than the closest frame (a share of its distance) a frame may lie from the portrait's shape
    /// and still be a candidate, as the most typical of the near ties. On 10 s of cap12_edit made a phone's clip (scaled
    /// to 2880x2160 with a sensor's grain at 40 Mb/s, or without the grain at a low rate), the frames closest to audrey's
    /// shape were two groups 1.4% apart, one with the eyes at 1.14 of their median opening (frames 102-104) and one at
    /// 0.91 (133-141); grain chose between them, and the first made her squint with lowered brows on most frames that
    /// followed (the eyelid stage narrowed 271 of 500 eyes, against 17 with the second); cage got frame 6 on both
    /// phone clips and 139 on the original. With 1% the choice is the same group on the original and both phone
    /// clips for audrey, joconde and cage (133-135, 8, 139-141); with 2-3% it wandered between groups again.</summary>
    public const double NearTieShare = 0.01;

    /// <summary>Mean distance of the brows' and eyes' landmarks (17-26, 36-47) of <paramref name="frame"/>, aligned onto
    /// <paramref name="target"/> by the whole face's similarity. The mouth is left out: a talking driver's typical mouth is
    /// half open, and the mouth has its own rule (MaxExtraGap).</summary>
    private static double UpperFaceDistance(PointD[] target, PointD[] frame) => AlignedDistance(target, frame, BrowsAndEyes);
    private static readonly int[] BrowsAndEyes = [.. Enumerable.Range(17, 10), .. Enumerable.Range(36, 12)];

    /// <summary>Per landmark, the median over the frames of their positions aligned onto the portrait's (a similarity each).</summary>
    private static PointD[] TypicalShape(DriverTrack driver, List<int> faces, PointD[] portrait)
    {
        int n = portrait.Length;
        var xs = new double[n][];
        var ys = new double[n][];
        for (int k = 0; k < n; k++) { xs[k] = new double[faces.Count]; ys[k] = new double[faces.Count]; }
        for (int f = 0; f < faces.Count; f++)
        {
            var l = driver.Landmarks[faces[f]];
            var s = Similarity.Fit(l, portrait);
            for (int k = 0; k < n; k++) { var p = s.Apply(l[k]); xs[k][f] = p.X; ys[k][f] = p.Y; }
        }
        var typical = new PointD[n];
        for (int k = 0; k < n; k++)
        {
            Array.Sort(xs[k]); Array.Sort(ys[k]);
            typical[k] = new PointD(xs[k][faces.Count / 2], ys[k][faces.Count / 2]);
        }
        return typical;
    }
}
