// BlinkDepth: a driver's closed eye closes the portrait's eye.
// dlib's 68-point model (our landmark engine) reads a closed eye as still partly open: on the
// sample drivers' blinks the lids' height over the eye's width (the eye aspect ratio) stays at
// 0.39-0.66 of the clip's open eyes (franck, cap12_edit, cap13_edit2; every dip below 0.66 that we
// looked at was a shut eye). Moved by those landmarks, the portrait only half-blinks. This stage
// reads the driver's eyes' opening against the clip's open eyes (the median of the frames at
// OpenFloor or more of the 90th percentile: the clip's median where the eyes are mostly open, and
// still the open eyes in a part where he keeps them shut for most of it; q, both eyes' mean; the
// detector's raw reading of the frame leads around a shut eye, as the smoothing lags it) and maps
// it through a piecewise-linear curve, the identity from TrustedReading up and reaching 0 at
// ClosedReading (knots (ClosedReading, 0), (NarrowReading, NarrowTrue), (TrustedReading,
// TrustedReading)). The portrait's animated lid heights are multiplied by the true opening over the
// smoothed reading: each upper/lower lid pair comes together towards (or apart from) a line
// MeetShare of the way up from the lower lid, as a real upper lid does most of the moving. Lids
// that the transfer made cross are brought together.
// Requires: the driver's tracked landmarks over the clip (68 points per frame; frames without a
// face are held, as DriverTrack gives them), and optionally the raw per-frame eye openings.
// Guarantees: in a frame whose smoothed reading is at least RawFrom and TrustedReading and whose
// raw reading is at least RawFrom (or missing, or no raw reading within BlinkWindowSeconds is under
// ClosedReading), lids that do not cross are left exactly as the transfer put them; the animated
// lids never cross; the change is continuous in the readings but at the edges of a blink's window
// (BlinkWindowSeconds from a shut eye, where the eyes are usually open again and the raw reading
// has no weight).
using Vivify.Faces;
using Vivify.Geometry;

namespace Vivify.Eyes;

public sealed class BlinkDepth
{
    /// <summary>Frames whose eyes read under this share of the clip's 90th percentile are left out of its open eyes.</summary>
    public const double OpenFloor = 0.7;
    /// <summary>The engine's reading of a shut eye, over the clip's open eyes (the largest seen on a shut eye: 0.66).</summary>
    public const double ClosedReading = 0.66;
    /// <summary>A narrowed, open eye (a squint, a look down) read at 0.75-0.8 of the open eyes shows more than half of its
    /// opening (franck, cap13_edit2): the curve's middle knot.</summary>
    public const double NarrowReading = 0.8, NarrowTrue = 0.6;
    /// <summary>From this reading up the engine is taken at its word (a slightly narrower eye is read well, and the
    /// landmarks' noise is not amplified).</summary>
    public const double TrustedReading = 0.92;
    /// <summary>Where the lids meet, as a share of the way up from the lower lid.</summary>
    public const double MeetShare = 0.3;

    /// <summary>Below this reading (smoothed or raw, share of the open eyes) a blink is under way and the raw reading leads; from
    /// RawFrom up the smoothed one alone, as the raw one is noisier. Only within BlinkWindowSeconds of a raw reading under
    /// ClosedReading (a shut eye: a blink, and the smoothing's lag around it): elsewhere the smoothed reading alone, so a
    /// narrowed eye (a squint, a look down: cap13_edit2 at 2.3 s reads 0.8 smoothed, about 0.7 raw, and is half open) does
    /// not take the raw one's deeper dips and noise.</summary>
    public const double RawBelow = 0.8, RawFrom = 0.95;
    /// <summary>How far from a shut-eye raw reading the raw reading may lead (seconds, both ways).</summary>
    public const double BlinkWindowSeconds = 0.3;
    /// <summary>The most the lids are opened beyond where the smoothed landmarks put them (as a blink ends, the smoothing lags).</summary>
    public const double MaxFactor = 1.3;

    private static readonly (int Upper, int Lower)[][] LidPairs = [[(37, 41), (38, 40)], [(43, 47), (44, 46)]];
    private readonly IReadOnlyList<PointD[]> _landmarks;
    private readonly IReadOnlyList<(double Left, double Right)> _raw;
    private readonly double[] _open = new double[2], _rawOpen = new double[2];
    private readonly bool[] _nearBlink;

    /// <summary>Reads the driver's open eyes (OpenReference) for each eye over the clip, of its smoothed landmarks
    /// (<paramref name="landmarks"/>) and of the detector's raw per-frame readings (<paramref name="rawOpenings"/>; may be empty)
    /// at <paramref name="fps"/> frames a second.</summary>
    public BlinkDepth(IReadOnlyList<PointD[]> landmarks, IReadOnlyList<(double Left, double Right)> rawOpenings, double fps)
    {
        _landmarks = landmarks;
        _raw = rawOpenings.Count == landmarks.Count ? rawOpenings : [];
        for (int e = 0; e < 2; e++)
        {
            _open[e] = OpenReference(landmarks.Where(l => l.Length >= 68).Select(l => FaceLandmarks.EyeAspectRatio(l, e)));
            _rawOpen[e] = OpenReference(_raw.Select(r => e == 0 ? r.Left : r.Right).Where(double.IsFinite));
        }
        _nearBlink = new bool[landmarks.Count];
        int window = (int)Math.Round(BlinkWindowSeconds * (fps > 0 ? fps : 25));
        for (int i = 0; i < _raw.Count; i++)
            if (RawReading(i) < ClosedReading)
                for (int j = Math.Max(0, i - window); j <= Math.Min(_raw.Count - 1, i + window); j++) _nearBlink[j] = true;
    }

    /// <summary>The detector's raw reading of frame i (both eyes' mean, share of the open eyes); NaN where there is none.</summary>
    private double RawReading(int i) =>
        _rawOpen[0] > 1e-6 && _rawOpen[1] > 1e-6 ? 0.5 * (_raw[i].Left / _rawOpen[0] + _raw[i].Right / _rawOpen[1]) : double.NaN;

    /// <summary>The median of the openings at OpenFloor or more of their 90th percentile (0 for none).</summary>
    private static double OpenReference(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) return 0;
        double floor = OpenFloor * v[Math.Min(v.Length - 1, (int)(0.9 * v.Length))];
        var open = v.Where(x => x >= floor).ToArray();
        return open[open.Length / 2];
    }

    /// <summary>The true opening (share of the open eyes) the curve gives for an engine reading <paramref name="q"/> (share of the open eyes).</summary>
    public static double TrueOpening(double q)
    {
        if (q >= TrustedReading) return q;
        if (q <= ClosedReading) return 0;
        if (q >= NarrowReading) return NarrowTrue + (TrustedReading - NarrowTrue) * (q - NarrowReading) / (TrustedReading - NarrowReading);
        return NarrowTrue * (q - ClosedReading) / (NarrowReading - ClosedReading);
    }

    /// <summary>
    /// The factor (0 to MaxFactor) the portrait's animated lid heights are multiplied by in clip frame <paramref name="i"/>:
    /// the true opening over what the smoothed landmarks read. Both eyes share it (the mean of their readings): a blink
    /// is the two eyes' together, and one eye's noise then does not shut it alone. During a blink the detector's raw
    /// reading of the frame leads (the smoothing lags a blink by a frame or two), blended in smoothly.
    /// </summary>
    public double Factor(int i)
    {
        var l = _landmarks[i];
        if (l.Length < 68 || _open[0] <= 1e-6 || _open[1] <= 1e-6) return 1;
        double qs = 0.5 * (FaceLandmarks.EyeAspectRatio(l, 0) / _open[0] + FaceLandmarks.EyeAspectRatio(l, 1) / _open[1]);
        double q = qs;
        if (_nearBlink[i] && RawReading(i) is var qr && double.IsFinite(qr))
        {
            double t = Math.Clamp((RawFrom - Math.Min(qr, qs)) / (RawFrom - RawBelow), 0, 1);
            q = qs + t * t * (3 - 2 * t) * (qr - qs);
        }
        if (q >= TrustedReading && qs >= TrustedReading && Math.Abs(q - qs) < 1e-12) return 1;
        return qs <= 1e-6 ? 1 : Math.Clamp(TrueOpening(q) / qs, 0, MaxFactor);
    }

    /// <summary>Closes (or, as a blink ends, opens) the animated portrait's lids (<paramref name="animated"/>, 68 points, changed
    /// in place) as far as the driver's eyes are in clip frame <paramref name="i"/>; crossed lids are brought together.</summary>
    public void Apply(Span<PointD> animated, int i)
    {
        double f = Factor(i);
        for (int e = 0; e < 2; e++)
        {
            // the eye's "up": perpendicular to its corner-to-corner line, pointing away from the lower lid
            var c0 = animated[EyelidClosure.EyeIndices[e][0]]; var c1 = animated[EyelidClosure.EyeIndices[e][3]];
            double wx = c1.X - c0.X, wy = c1.Y - c0.Y, wl = Math.Sqrt(wx * wx + wy * wy);
            if (wl < 1e-6) continue;
            double ux = wy / wl, uy = -wx / wl;   // image y points down: (wy, -wx) points up for a left-to-right eye
            foreach (var (up, low) in LidPairs[e])
            {
                PointD u = animated[up], l = animated[low];
                bool crossed = (u.X - l.X) * ux + (u.Y - l.Y) * uy < 0;
                if (f == 1 && !crossed) continue;
                var m = l + MeetShare * (u - l);
                double k = crossed ? 0 : f;
                animated[up] = m + k * (u - m);
                animated[low] = m + k * (l - m);
            }
        }
    }
}
