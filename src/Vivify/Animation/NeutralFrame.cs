// NeutralFrame: picks the driver's reference frame V_0 automatically (TECHNIQUE.md stage 1): the
// frame whose landmarks, aligned to the portrait's by a similarity, lie closest to them, i.e.
// the driver frame most like the portrait's own (roughly neutral) expression and pose.
// Guarantees: a frame with a detected or tracked face when there is one (bridged frames are
// guesses); ties go to the earliest frame.
using Vivify.Faces;
using Vivify.Geometry;

namespace Vivify.Animation;

public static class NeutralFrame
{
    /// <summary>Mean distance between the portrait's landmarks and the frame's, aligned onto them, over the portrait's inter-ocular distance.</summary>
    public static double Distance(PointD[] portrait, PointD[] frame)
    {
        var s = Similarity.Fit(frame, portrait);
        double sum = 0;
        for (int k = 0; k < portrait.Length; k++) sum += PointD.Distance(s.Apply(frame[k]), portrait[k]);
        return sum / portrait.Length / FaceLandmarks.InterOcularDistance(portrait);
    }

    public static int Choose(DriverTrack driver, PointD[] portrait)
    {
        int best = 0; double bestD = double.MaxValue;
        for (int i = 0; i < driver.FrameCount; i++)
        {
            if (driver.Status[i] is TrackStatus.Bridged or TrackStatus.Missing) continue;
            double d = Distance(portrait, driver.Landmarks[i]);
            if (d < bestD - 1e-12) { bestD = d; best = i; }
        }
        return best;
    }
}
