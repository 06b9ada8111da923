using Vivify.Animation;
using Vivify.Faces;
using Vivify.Geometry;

namespace Vivify.Tests;

public class GeometryTests
{
    private static PointD[] Audrey => TestData.GoldenLandmarks.First(r => r.Image == "audrey.png").Landmarks;

    [Fact]
    public void SimilarityFitRecoversAKnownTransformExactly()
    {
        var s = new Similarity(1.3 * Math.Cos(0.4), 1.3 * Math.Sin(0.4), 12.5, -7.25);
        var to = Audrey.Select(s.Apply).ToArray();
        var fit = Similarity.Fit(Audrey, to);
        Assert.Equal(s.A, fit.A, 9); Assert.Equal(s.B, fit.B, 9); Assert.Equal(s.Tx, fit.Tx, 6); Assert.Equal(s.Ty, fit.Ty, 6);
        var back = s.Inverse().Compose(s);
        Assert.Equal(1, back.A, 9); Assert.Equal(0, back.B, 9); Assert.Equal(0, back.Tx, 9); Assert.Equal(0, back.Ty, 9);
        // on a subset of indices only those points count
        var moved = (PointD[])to.Clone();
        moved[60] = moved[60] + new PointD(50, 50);
        var sub = Similarity.Fit(Audrey, moved, Correspondences.StableIndices);
        Assert.Equal(s.A, sub.A, 9);
    }

    [Fact]
    public void NeutralFrameIsTheDriverFrameMostLikeThePortrait()
    {
        var portrait = Audrey;
        var turn = new Similarity(0.8 * Math.Cos(0.2), 0.8 * Math.Sin(0.2), 40, 10);
        PointD[] Frame(double mouth) => portrait.Select((p, k) => turn.Apply(k is 65 or 66 or 67 ? p + new PointD(0, mouth) : p)).ToArray();
        var frames = new List<PointD[]> { Frame(20), Frame(8), Frame(0.5), Frame(12) };
        var driver = new DriverTrack
        {
            Path = "synthetic", Fps = 25, Width = 640, Height = 480, Start = 0, Landmarks = frames,
            Status = [TrackStatus.Detected, TrackStatus.Tracked, TrackStatus.Tracked, TrackStatus.Tracked], Points = [],
        };
        Assert.Equal(2, NeutralFrame.Choose(driver, portrait));
        // a bridged frame is a guess, never the reference
        driver.Status[2] = TrackStatus.Bridged;
        Assert.Equal(1, NeutralFrame.Choose(driver, portrait));
        Assert.True(NeutralFrame.Distance(portrait, portrait.Select(turn.Apply).ToArray()) < 1e-9);
    }
}
