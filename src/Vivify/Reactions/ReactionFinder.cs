// ReactionFinder: finds reaction segments (neutral -> peak -> neutral) in a driver's landmark
// track (TECHNIQUE.md stage 7), and a quiet segment for the idle loop.
// How: the driver's resting frame is the one whose measures (ExpressionMeasures) lie closest to
// the track's typical values (medians; mouth opening at its 10th percentile, a closed mouth).
// Each frame's landmark distance from it (after similarity alignment) is smoothed; its local
// peaks are peak expressions; from each peak we walk back and forward to where the distance falls
// near rest (below max(NearNeutral, EndFraction x peak), or failing that the lowest point if below
// FallbackFraction x peak: talking faces rarely rest) to get the segment. The segment is named
// by the measures at its peak, as changes from rest in inter-ocular distances:
//   laugh    mouth wider, corners up and mouth open;    smile  mouth wider, corners up, closed;
//   surprise brows up and mouth open;                   brows  brows up, mouth closed;
//   ooh      mouth open and narrower;                    frown  brows lowered or knit.
// Two kinds are found by their own signals: talk (a window with several mouth openings and
// closings) and blink (a short dip of eye openness). Scores are about 1 for a clear, typical
// example, higher for stronger ones, and are lowered when the ends stay far from rest or the head
// turns (segments turning past MaxYaw are dropped: an expression-only transfer folds the face).
// Requires: 68-point landmarks per frame and the frame rate. Guarantees: pure and deterministic;
// segments lie within the track, overlap by at most half within one kind, and last between MinSeconds and
// MaxSeconds (blinks: BlinkPadSeconds around the dip).
using Vivify.Geometry;

namespace Vivify.Reactions;

/// <summary>One reaction found in a driver: frames [Start, End] of the track, peak at Peak.</summary>
public sealed record ReactionSegment(string Name, string Driver, double Fps, int Start, int Peak, int End, double Score, FaceMeasures PeakChange)
{
    public int FrameCount => End - Start + 1;
    public double StartSeconds => Start / Fps;
    public double DurationSeconds => FrameCount / Fps;
    /// <summary>Seconds from the segment's start to its peak.</summary>
    public double PeakSeconds => (Peak - Start) / Fps;
}

public sealed record ReactionFinderOptions
{
    /// <summary>Smallest peak landmark distance from rest (IOD units) that counts as an expression.</summary>
    public double MinPeak { get; init; } = 0.05;
    /// <summary>A segment ends where the distance falls below max(NearNeutral, EndFraction x peak).</summary>
    public double NearNeutral { get; init; } = 0.025;
    public double EndFraction { get; init; } = 0.4;
    /// <summary>Where the distance never falls that low, the segment may end at its lowest point if that is below this share of the peak.</summary>
    public double FallbackFraction { get; init; } = 0.6;
    public double MinSeconds { get; init; } = 0.5;
    public double MaxSeconds { get; init; } = 6;
    /// <summary>A peak must be the largest distance within this many seconds either side.</summary>
    public double PeakWindowSeconds { get; init; } = 0.4;
    /// <summary>Moving-average length for the distance and measures, frames.</summary>
    public int SmoothFrames { get; init; } = 5;
    public double TalkSeconds { get; init; } = 2.5;
    /// <summary>Segments whose head turns further than this from rest (Yaw change) are dropped.</summary>
    public double MaxYaw { get; init; } = 0.12;
    public double BlinkPadSeconds { get; init; } = 0.3;
    public double IdleSeconds { get; init; } = 3.0;
}

/// <summary>The measures of a whole track, against its resting frame.</summary>
public sealed class DriverExpressions
{
    public required double Fps { get; init; }
    public required int Rest { get; init; }
    public required FaceMeasures[] Measures { get; init; }
    /// <summary>Smoothed change of each frame's measures from the resting frame's.</summary>
    public required FaceMeasures[] Change { get; init; }
    /// <summary>Smoothed landmark distance from the resting frame (IOD units).</summary>
    public required double[] Distance { get; init; }
    /// <summary>Head movement per frame: the eye midpoint's motion in IOD units (smoothed).</summary>
    public required double[] HeadMotion { get; init; }
    public int FrameCount => Distance.Length;
}

public static class ReactionFinder
{
    /// <summary>Every kind of reaction the finder can name, in the order reported.</summary>
    public static readonly string[] Kinds = ["smile", "laugh", "surprise", "brows", "frown", "ooh", "talk", "blink"];

    public static DriverExpressions Analyse(IReadOnlyList<PointD[]> landmarks, double fps, ReactionFinderOptions? options = null)
    {
        var opt = options ?? new ReactionFinderOptions();
        int n = landmarks.Count;
        if (n == 0) throw new ArgumentException("no frames");
        var m = landmarks.Select(l => ExpressionMeasures.Measure(l)).ToArray();
        var ms = SmoothMeasures(m, opt.SmoothFrames);
        int rest = ChooseRest(ms);
        var restM = ms[rest];
        var change = ms.Select(x => x - restM).ToArray();
        var dist = new double[n];
        for (int i = 0; i < n; i++) dist[i] = ExpressionMeasures.Distance(landmarks[rest], landmarks[i]);
        var head = new double[n];
        for (int i = 1; i < n; i++)
        {
            var a = Faces.FaceLandmarks.Mean(landmarks[i - 1].AsSpan(36, 12));
            var b = Faces.FaceLandmarks.Mean(landmarks[i].AsSpan(36, 12));
            head[i] = PointD.Distance(a, b) / Math.Max(1e-9, Faces.FaceLandmarks.InterOcularDistance(landmarks[i]));
        }
        return new DriverExpressions
        {
            Fps = fps, Rest = rest, Measures = m, Change = change,
            Distance = Smooth(dist, opt.SmoothFrames), HeadMotion = Smooth(head, opt.SmoothFrames),
        };
    }

    /// <summary>The resting frame: measures closest (in robust spreads) to the track's typical rest values.</summary>
    public static int ChooseRest(IReadOnlyList<FaceMeasures> m)
    {
        static double[] Col(IReadOnlyList<FaceMeasures> m, Func<FaceMeasures, double> f) => m.Select(f).ToArray();
        Func<FaceMeasures, double>[] cols = [x => x.MouthWidth, x => x.CornerLift, x => x.MouthOpen, x => x.BrowRaise, x => x.BrowKnit, x => x.EyeOpen];
        var target = new double[cols.Length];
        var spread = new double[cols.Length];
        for (int k = 0; k < cols.Length; k++)
        {
            var v = Col(m, cols[k]);
            double med = Percentile(v, 0.5);
            target[k] = k == 2 ? Percentile(v, 0.1) : med;
            spread[k] = Percentile(v.Select(x => Math.Abs(x - med)).ToArray(), 0.5) + 1e-3;
        }
        int best = 0; double bestCost = double.MaxValue;
        for (int i = 0; i < m.Count; i++)
        {
            double cost = 0;
            for (int k = 0; k < cols.Length; k++) cost += Math.Abs(cols[k](m[i]) - target[k]) / spread[k];
            if (cost < bestCost - 1e-12) { bestCost = cost; best = i; }
        }
        return best;
    }

    /// <summary>All reaction segments in a track, every kind, best first within each kind.</summary>
    public static List<ReactionSegment> Find(DriverExpressions d, string driver, ReactionFinderOptions? options = null)
    {
        var opt = options ?? new ReactionFinderOptions();
        var found = new List<ReactionSegment>();
        found.AddRange(FindPeakSegments(d, d.Distance, opt.MinPeak, opt.NearNeutral, driver, opt, null));
        // a smile's own signal: it comes back to rest even where the rest of the face keeps moving (talk, small turns)
        found.AddRange(FindPeakSegments(d, SmileSignal(d), 0.6, 0.15, driver, opt, ["smile", "laugh"]));
        // likewise raised brows: a small share of the face's points, so a small landmark distance
        found.AddRange(FindPeakSegments(d, [.. d.Change.Select(c => Math.Max(0, c.BrowRaise / 0.07))], 0.6, 0.15, driver, opt, ["brows", "surprise"]));
        found.AddRange(FindTalk(d, driver, opt));
        found.AddRange(FindBlinks(d, driver, opt));
        // the signals overlap (a surprise is both a distance peak and a brow peak): one segment per moment and kind
        var kept = new List<ReactionSegment>();
        foreach (var seg in found.OrderByDescending(s => s.Score))
            if (!kept.Any(k => k.Name == seg.Name && Overlap(k, seg) > 0.5)) kept.Add(seg);
        return [.. kept.OrderBy(s => Array.IndexOf(Kinds, s.Name)).ThenByDescending(s => s.Score)];
    }

    /// <summary>Shared frames over the shorter segment's length.</summary>
    private static double Overlap(ReactionSegment a, ReactionSegment b) =>
        Math.Max(0, Math.Min(a.End, b.End) - Math.Max(a.Start, b.Start) + 1) / (double)Math.Min(a.FrameCount, b.FrameCount);

    /// <summary>The expression at a peak, named by its measures, with a score; null when none fits.</summary>
    public static (string Name, double Score)? Classify(FaceMeasures c)
    {
        double wide = c.MouthWidth, lift = c.CornerLift, open = c.MouthOpen, brow = c.BrowRaise, knit = c.BrowKnit;
        if (wide > 0.05 && lift > 0.02)
        {
            if (open > 0.12) return ("laugh", 0.4 * Math.Min(wide / 0.12, 2) + 0.3 * Math.Min(lift / 0.06, 2) + 0.3 * Math.Min(open / 0.15, 2));
            return ("smile", (0.5 * Math.Min(wide / 0.12, 2) + 0.5 * Math.Min(lift / 0.06, 2)) * (open > 0.06 ? 0.8 : 1));
        }
        if (brow > 0.04 && open > 0.06 && wide < 0.06) return ("surprise", 0.5 * Math.Min(brow / 0.06, 2) + 0.5 * Math.Min(open / 0.12, 2));
        if (open > 0.12 && wide < -0.02) return ("ooh", Math.Min(open / 0.2, 2));
        if (brow > 0.05 && open < 0.05) return ("brows", Math.Min(brow / 0.07, 2));
        if ((brow < -0.035 || knit < -0.03) && wide < 0.04 && open < 0.05) return ("frown", Math.Max(Math.Min(-brow / 0.05, 2), Math.Min(-knit / 0.04, 2)));
        return null;
    }

    /// <summary>How much each frame smiles: mouth widening over 0.12 IOD and corner lift over 0.06 IOD, averaged (0 at rest).</summary>
    public static double[] SmileSignal(DriverExpressions d) =>
        [.. d.Change.Select(c => 0.5 * Math.Max(0, c.MouthWidth / 0.12) + 0.5 * Math.Max(0, c.CornerLift / 0.06))];

    /// <summary>Peaks of signal e, walked back and forward to rest, classified at the peak (kept only when named one of <paramref name="only"/>, if given).</summary>
    private static IEnumerable<ReactionSegment> FindPeakSegments(DriverExpressions d, double[] e, double minPeak, double nearNeutral, string driver,
        ReactionFinderOptions opt, string[]? only)
    {
        int n = e.Length, w = Math.Max(1, (int)Math.Round(opt.PeakWindowSeconds * d.Fps));
        int minLen = (int)Math.Ceiling(opt.MinSeconds * d.Fps), maxLen = (int)Math.Floor(opt.MaxSeconds * d.Fps);
        var peaks = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (e[i] < minPeak) continue;
            bool isMax = true;
            for (int j = Math.Max(0, i - w); j <= Math.Min(n - 1, i + w) && isMax; j++)
                if (e[j] > e[i] || (e[j] == e[i] && j < i)) isMax = false;
            if (isMax) peaks.Add(i);
        }
        var taken = new List<(int S, int E)>();
        foreach (int p in peaks.OrderByDescending(i => e[i]))
        {
            if (taken.Any(t => p >= t.S && p <= t.E)) continue;
            double level = Math.Max(nearNeutral, opt.EndFraction * e[p]);
            int reach = (int)(0.6 * maxLen);
            int s = WalkToRest(e, p, -1, level, reach, opt.FallbackFraction);
            int t = WalkToRest(e, p, +1, level, reach, opt.FallbackFraction);
            if (s < 0 || t < 0) continue;          // never came back near rest
            int len = t - s + 1;
            if (len > maxLen) continue;
            if (len < minLen)
            {
                int grow = (minLen - len + 1) / 2;
                s = Math.Max(0, s - grow); t = Math.Min(n - 1, t + grow);
            }
            taken.Add((s, t));
            var atPeak = FaceMeasures.Mean([.. Enumerable.Range(Math.Max(0, p - 2), Math.Min(n, p + 3) - Math.Max(0, p - 2)).Select(i => d.Change[i])]);
            if (Classify(atPeak) is not { } k || (only is not null && !only.Contains(k.Name))) continue;
            double clean = 1 - 0.5 * Math.Max(e[s], e[t]) / e[p];
            if (PoseFactor(d, s, t, opt) is not { } pose) continue;
            yield return new ReactionSegment(k.Name, driver, d.Fps, s, p, t, Math.Round(k.Score * clean * pose, 3), atPeak);
        }
    }

    /// <summary>
    /// From the peak, the first frame (going in direction dir, at most reach frames) below level; failing
    /// that, the lowest frame on the way if it is below fallback x peak (a talking face rarely rests long); -1 if none.
    /// </summary>
    internal static int WalkToRest(double[] e, int p, int dir, double level, int reach, double fallback)
    {
        int best = -1;
        for (int k = 1; k <= reach; k++)
        {
            int i = p + dir * k;
            if (i < 0 || i >= e.Length) break;
            if (e[i] <= level) return i;
            if (best < 0 || e[i] < e[best]) best = i;
        }
        return best >= 0 && e[best] <= fallback * e[p] ? best : -1;
    }

    /// <summary>
    /// 1 for a segment whose head stays turned as at rest, less the more it turns; null past MaxYaw. An expression-only
    /// transfer of a turned head folds the portrait's face (seen on franck.mp4's laughs).
    /// </summary>
    internal static double? PoseFactor(DriverExpressions d, int s, int t, ReactionFinderOptions opt)
    {
        double pose = 0, yaw = 0;
        for (int i = s; i <= t; i++)
        {
            yaw = Math.Max(yaw, Math.Abs(d.Change[i].Yaw));
            pose = Math.Max(pose, Math.Abs(d.Change[i].Yaw) + 0.5 * Math.Abs(d.Change[i].Pitch));
        }
        if (yaw > opt.MaxYaw) return null;
        return 1 / (1 + (pose / 0.1) * (pose / 0.1));
    }

    /// <summary>Talk: the window with the most mouth openings (opening above 0.05 IOD, closing below 0.025 between), ends snapped to a closed mouth.</summary>
    private static IEnumerable<ReactionSegment> FindTalk(DriverExpressions d, string driver, ReactionFinderOptions opt)
    {
        int n = d.FrameCount, win = (int)Math.Round(opt.TalkSeconds * d.Fps);
        if (n < win) yield break;
        var open = d.Change.Select(c => c.MouthOpen).ToArray();
        // syllables: frames where the mouth opens past 0.05 after having been below 0.025
        var onsets = new List<int>();
        bool closed = true;
        for (int i = 0; i < n; i++)
        {
            if (closed && open[i] > 0.05) { onsets.Add(i); closed = false; }
            else if (!closed && open[i] < 0.025) closed = true;
        }
        int bestStart = -1; double best = 0;
        for (int s = 0; s + win <= n; s += Math.Max(1, win / 10))
        {
            int count = onsets.Count(o => o >= s && o < s + win);
            if (count < 3) continue;
            // spoken, not smiling or surprised: penalise smiles and raised brows in the window
            double expr = 0;
            for (int i = s; i < s + win; i++) expr = Math.Max(expr, Math.Max(d.Change[i].MouthWidth - 0.06, 0) + Math.Max(d.Change[i].BrowRaise - 0.05, 0));
            double amp = 0;
            for (int i = s; i < s + win; i++) amp += Math.Max(open[i], 0);
            amp /= win;
            double score = Math.Min(count / 5.0, 2) * 0.5 + Math.Min(amp / 0.05, 2) * 0.5 - 4 * expr;
            if (score > best) { best = score; bestStart = s; }
        }
        if (bestStart < 0) yield break;
        // snap the ends to the nearest closed-mouth frame within half a second outwards or inwards
        int half = (int)Math.Round(0.5 * d.Fps);
        int a = Snap(bestStart, -half, half, i => open[i] < 0.025 && d.Distance[i] < Math.Max(opt.NearNeutral * 2, 0.05), n);
        int b = Snap(bestStart + win - 1, -half, half, i => open[i] < 0.025 && d.Distance[i] < Math.Max(opt.NearNeutral * 2, 0.05), n);
        int peak = a + Array.IndexOf(open[a..(b + 1)], open[a..(b + 1)].Max());
        double clean = 1 - 0.5 * Math.Max(d.Distance[a], d.Distance[b]) / Math.Max(1e-9, d.Distance[a..(b + 1)].Max());
        if (PoseFactor(d, a, b, opt) is not { } pose) yield break;
        yield return new ReactionSegment("talk", driver, d.Fps, a, peak, b, Math.Round(best * clean * pose, 3), d.Change[peak]);
    }

    private static int Snap(int at, int from, int to, Func<int, bool> ok, int n)
    {
        for (int r = 0; r <= Math.Max(-from, to); r++)
            foreach (int i in new[] { at - r, at + r })
                if (i >= 0 && i < n && i - at >= from && i - at <= to && ok(i)) return i;
        return Math.Clamp(at, 0, n - 1);
    }

    /// <summary>Blinks: eye openness falling below 60% of rest and back within 0.5 s.</summary>
    private static IEnumerable<ReactionSegment> FindBlinks(DriverExpressions d, string driver, ReactionFinderOptions opt)
    {
        int n = d.FrameCount;
        double rest = d.Measures[d.Rest].EyeOpen;
        if (rest <= 0) yield break;
        int maxDip = (int)Math.Round(0.5 * d.Fps), pad = (int)Math.Round(opt.BlinkPadSeconds * d.Fps);
        var ratio = d.Measures.Select(m => m.EyeOpen / rest).ToArray();
        for (int i = 0; i < n; i++)
        {
            if (ratio[i] >= 0.8) continue;
            int s = i;
            while (i < n && ratio[i] < 0.8) i++;
            int t = i - 1;
            if (s == 0 || i >= n || t - s + 1 > maxDip) continue;       // cut by the track's ends, or eyes closed too long
            int low = s; for (int j = s; j <= t; j++) if (ratio[j] < ratio[low]) low = j;
            if (ratio[low] > 0.6) continue;
            // a blink, not a squint: mouth and brows stay near rest
            var c = d.Change[low];
            if (Math.Abs(c.MouthWidth) > 0.06 || c.MouthOpen > 0.06 || Math.Abs(c.BrowRaise) > 0.05) continue;
            int a = Math.Max(0, s - pad), b = Math.Min(n - 1, t + pad);
            double score = Math.Min((1 - ratio[low]) / 0.6, 2) * (1 - Math.Min(1, d.Distance[a..(b + 1)].Max() / 0.1) * 0.5);
            yield return new ReactionSegment("blink", driver, d.Fps, a, low, b, Math.Round(score, 3), c);
        }
    }

    /// <summary>The quietest window of IdleSeconds (least expression and head motion), preferring one with a blink; null if the track is too short.</summary>
    public static ReactionSegment? FindIdle(DriverExpressions d, string driver, ReactionFinderOptions? options = null)
    {
        var opt = options ?? new ReactionFinderOptions();
        int n = d.FrameCount, win = (int)Math.Round(opt.IdleSeconds * d.Fps);
        if (n < win || win < 2) return null;
        var blinks = FindBlinks(d, driver, opt).ToList();
        double bestCost = double.MaxValue; int bestStart = -1;
        for (int s = 0; s + win <= n; s += Math.Max(1, win / 12))
        {
            double expr = 0, motion = 0;
            for (int i = s; i < s + win; i++) { expr = Math.Max(expr, d.Distance[i]); motion += d.HeadMotion[i]; }
            motion /= win;
            // the ends meet at the loop point: they should be alike (both near rest)
            double seam = Math.Abs(d.Distance[s] - d.Distance[s + win - 1]) + d.Distance[s];
            bool blink = blinks.Any(b => b.Peak > s + 0.3 * win && b.Peak < s + 0.7 * win);
            // blinks raise the distance through the eyes: count it without them
            double cost = (blink ? 0.6 : 1) * expr + 4 * motion + seam;
            if (cost < bestCost) { bestCost = cost; bestStart = s; }
        }
        if (bestStart < 0) return null;
        int peak = bestStart + win / 2;
        var inside = blinks.FirstOrDefault(b => b.Peak > bestStart && b.Peak < bestStart + win);
        if (inside is not null) peak = inside.Peak;
        return new ReactionSegment("idle", driver, d.Fps, bestStart, peak, bestStart + win - 1, Math.Round(1 / (1 + 10 * bestCost), 3), d.Change[peak]);
    }

    /// <summary>The best segment of each kind over several drivers.</summary>
    public static List<ReactionSegment> BestPerKind(IEnumerable<ReactionSegment> all) =>
        [.. all.GroupBy(s => s.Name).Select(g => g.OrderByDescending(s => s.Score).First()).OrderBy(s => Array.IndexOf(Kinds, s.Name))];

    internal static double[] Smooth(double[] v, int len)
    {
        if (len <= 1) return (double[])v.Clone();
        int h = len / 2;
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            int a = Math.Max(0, i - h), b = Math.Min(v.Length - 1, i + h);
            double s = 0; for (int j = a; j <= b; j++) s += v[j];
            r[i] = s / (b - a + 1);
        }
        return r;
    }

    private static FaceMeasures[] SmoothMeasures(FaceMeasures[] m, int len)
    {
        var cols = new[]
        {
            Smooth([.. m.Select(x => x.MouthWidth)], len), Smooth([.. m.Select(x => x.CornerLift)], len), Smooth([.. m.Select(x => x.MouthOpen)], len),
            Smooth([.. m.Select(x => x.BrowRaise)], len), Smooth([.. m.Select(x => x.BrowKnit)], len), Smooth([.. m.Select(x => x.EyeOpen)], len),
            Smooth([.. m.Select(x => x.Yaw)], len), Smooth([.. m.Select(x => x.Pitch)], len),
        };
        return [.. Enumerable.Range(0, m.Length).Select(i => new FaceMeasures(cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i], cols[6][i], cols[7][i]))];
    }

    internal static double Percentile(double[] v, double q)
    {
        var s = (double[])v.Clone();
        Array.Sort(s);
        if (s.Length == 0) return 0;
        double pos = q * (s.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(s.Length - 1, lo + 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }
}
