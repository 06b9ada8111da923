using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;
using Vivify.Reactions;

namespace Vivify.Tests;

/// <summary>Reaction measures and segmentation on synthetic landmark tracks (no video), then one real run on sample videos.</summary>
public class ReactionTests
{
    private static PointD[] Neutral => TestData.GoldenLandmarks[0].Landmarks;
    private static double Iod => FaceLandmarks.InterOcularDistance(Neutral);

    /// <summary>A 25 fps track of the neutral face with ±0.3 px noise; events bend it between frames.</summary>
    private static List<PointD[]> Track(int frames, params (int Start, int Length, Action<PointD[], double> Apply)[] events)
    {
        var rng = new Random(7);
        var track = new List<PointD[]>();
        for (int i = 0; i < frames; i++)
        {
            var p = Neutral.Select(q => new PointD(q.X + (rng.NextDouble() - 0.5) * 0.6, q.Y + (rng.NextDouble() - 0.5) * 0.6)).ToArray();
            foreach (var (s, len, apply) in events)
                if (i >= s && i < s + len) apply(p, Math.Sin(Math.PI * (i - s) / (len - 1)));   // 0 -> 1 -> 0
            track.Add(p);
        }
        return track;
    }

    private static void Smile(PointD[] p, double a)
    {
        double d = Iod * a;
        p[48] = p[48] + new PointD(-0.09 * d, -0.07 * d); p[60] = p[60] + new PointD(-0.07 * d, -0.06 * d);
        p[54] = p[54] + new PointD(0.09 * d, -0.07 * d); p[64] = p[64] + new PointD(0.07 * d, -0.06 * d);
        p[49] = p[49] + new PointD(-0.04 * d, -0.03 * d); p[53] = p[53] + new PointD(0.04 * d, -0.03 * d);
    }

    private static void Surprise(PointD[] p, double a)
    {
        double d = Iod * a;
        for (int k = 17; k < 27; k++) p[k] = p[k] + new PointD(0, -0.12 * d);
        foreach (int k in new[] { 55, 56, 57, 58, 59, 65, 66, 67 }) p[k] = p[k] + new PointD(0, 0.22 * d);
        for (int k = 5; k < 12; k++) p[k] = p[k] + new PointD(0, 0.18 * d);
    }

    private static void Blink(PointD[] p, double a)
    {
        foreach (int e in new[] { 36, 42 })
        {
            double cy = (p[e + 1].Y + p[e + 5].Y) / 2;
            foreach (int k in new[] { e + 1, e + 2, e + 4, e + 5 }) p[k] = new PointD(p[k].X, p[k].Y + (cy - p[k].Y) * 0.95 * Math.Min(1, 2 * a));
        }
    }

    [Fact]
    public void Measures_ignore_position_rotation_and_scale()
    {
        var m = ExpressionMeasures.Measure(Neutral);
        var moved = Neutral.Select(q => new Similarity(1.7 * Math.Cos(0.4), 1.7 * Math.Sin(0.4), 33, -12).Apply(q)).ToArray();
        var m2 = ExpressionMeasures.Measure(moved);
        var d = m2 - m;
        foreach (var v in new[] { d.MouthWidth, d.CornerLift, d.MouthOpen, d.BrowRaise, d.BrowKnit, d.EyeOpen, d.Yaw, d.Pitch })
            Assert.True(Math.Abs(v) < 1e-9, $"{v}");
        Assert.Equal(0, ExpressionMeasures.Distance(Neutral, moved), 9);
    }

    [Fact]
    public void Measures_read_a_smile_a_surprise_and_a_blink()
    {
        var m = ExpressionMeasures.Measure(Neutral);
        var s = Neutral.ToArray(); Smile(s, 1);
        var ds = ExpressionMeasures.Measure(s) - m;
        Assert.InRange(ds.MouthWidth, 0.15, 0.2);       // corners 0.09 IOD outwards each
        Assert.InRange(ds.CornerLift, 0.06, 0.08);      // and 0.07 up
        Assert.Equal(("smile"), ReactionFinder.Classify(ds)?.Name);
        var u = Neutral.ToArray(); Surprise(u, 1);
        var du = ExpressionMeasures.Measure(u) - m;
        Assert.InRange(du.BrowRaise, 0.11, 0.13);
        Assert.True(du.MouthOpen > 0.15);
        Assert.Equal("surprise", ReactionFinder.Classify(du)?.Name);
        var b = Neutral.ToArray(); Blink(b, 1);
        Assert.True(ExpressionMeasures.Measure(b).EyeOpen < 0.2 * m.EyeOpen);
        Assert.Null(ReactionFinder.Classify(default));
    }

    [Fact]
    public void Finder_cuts_each_event_from_rest_to_rest_and_names_it()
    {
        // 20 s at 25 fps: a smile at 2 s (1.6 s long), a surprise at 8 s (1.2 s), a blink at 14 s (0.24 s)
        var track = Track(500, (50, 40, Smile), (200, 30, Surprise), (350, 6, Blink));
        var d = ReactionFinder.Analyse(track, 25);
        Assert.True(d.Distance[d.Rest] < 0.02);
        var found = ReactionFinder.Find(d, "synthetic");
        var smile = Assert.Single(found, s => s.Name == "smile" && s.Peak is > 60 and < 80);
        Assert.InRange(smile.Start, 40, 58);
        Assert.InRange(smile.End, 82, 100);
        var surprise = Assert.Single(found, s => s.Name == "surprise");
        Assert.InRange(surprise.Peak, 207, 222);
        Assert.True(surprise.Start >= 190 && surprise.End <= 240);
        var blink = Assert.Single(found, s => s.Name == "blink");
        Assert.InRange(blink.Peak, 350, 356);
        Assert.DoesNotContain(found, s => s.Name is "frown" or "laugh" or "talk");
        var best = ReactionFinder.BestPerKind(found);
        Assert.Equal(["smile", "surprise", "blink"], best.Select(s => s.Name));
        // the idle window is quiet: away from the smile and the surprise
        var idle = ReactionFinder.FindIdle(d, "synthetic")!;
        Assert.Equal(75, idle.FrameCount);
        Assert.False(idle.End >= 40 && idle.Start <= 100, "idle overlaps the smile");
        Assert.False(idle.End >= 190 && idle.Start <= 240, "idle overlaps the surprise");
    }

    [Fact]
    public void Finder_drops_a_turned_head_and_an_event_that_never_returns_to_rest()
    {
        // the smile at 1 s comes with a head turn (nose and mouth shift sideways): no smile clip from it
        void TurnedSmile(PointD[] p, double a)
        {
            Smile(p, a);
            for (int k = 27; k < 68; k++) if (k is < 36 or > 47) p[k] = p[k] + new PointD(0.35 * Iod * a, 0);
        }
        // a smile that starts at 14 s and is still on at the end of the track
        void Held(PointD[] p, double a) => Smile(p, 1);
        var track = Track(400, (25, 40, TurnedSmile), (350, 50, Held));
        var found = ReactionFinder.Find(ReactionFinder.Analyse(track, 25), "synthetic");
        Assert.DoesNotContain(found, s => s.Name == "smile");
    }

    [Fact]
    public void Reactions_on_sample_videos_loop_and_end_where_they_start()
    {
        using var detector = new FaceDetector();
        var plan = ReactionPlan.Find([TestData.Sample("cap13_edit2.mp4")], detector);
        var names = plan.Best.Select(s => s.Name).ToList();
        Assert.Contains("surprise", names);                 // cap13 at 2-5 s: brows up, mouth open (looked at frame by frame)
        Assert.Contains("ooh", names);                      // and 15-19 s: a round open mouth
        var dir = Path.Combine(CliRunner.TempDir(), "audrey");
        using var portrait = MediaFile.LoadImage(TestData.Sample("audrey.jpg"));
        var m = ReactionRenderer.Render(portrait, "audrey.jpg", plan, detector, dir, new ReactionRenderOptions { MaxSide = 320 });
        Assert.True(File.Exists(Path.Combine(dir, ReactionRenderer.ManifestName)));
        Assert.Equal(names, m.Reactions.Select(c => c.Name));
        Assert.Equal(m.Missing, ReactionFinder.Kinds.Except(names));
        foreach (var clip in m.Reactions.Append(m.Idle))
        {
            var frames = ReadFrames(Path.Combine(dir, clip.File));
            Assert.Equal(clip.Frames, frames.Count);
            Assert.Equal(320, Math.Max(frames[0].Width, frames[0].Height));
            Assert.InRange(clip.PeakTime, 0, clip.Duration);
            double seam = MeanAbsDiff(frames[^1], frames[0]);
            double step = Enumerable.Range(1, frames.Count - 1).Average(i => MeanAbsDiff(frames[i], frames[i - 1]));
            if (clip.Name == "idle")
                Assert.True(seam < 3 * step + 1, $"idle loop seam {seam:0.00} vs mean step {step:0.00}");   // last frame leads into the first
            else
                Assert.True(seam < 1.5, $"{clip.Name}: last frame differs from the first by {seam:0.00} grey levels");   // ends on its first frame
            foreach (var f in frames) f.Dispose();
        }
        // the first frame of a reaction is the portrait itself (its rest pose), so idle hands over without a jump
        using var still = Cv2.ImRead(Path.Combine(dir, m.Still));
        var first = ReadFrames(Path.Combine(dir, m.Reactions[0].File));
        Assert.True(MeanAbsDiff(first[0], still) < 3, "a reaction's first frame is the still portrait");
        foreach (var f in first) f.Dispose();
        Directory.Delete(Path.GetDirectoryName(dir)!, true);
    }

    private static List<Mat> ReadFrames(string path)
    {
        using var r = new VideoReader(path);
        return [.. r.Frames().Select(f => f.Image)];
    }

    private static double MeanAbsDiff(Mat a, Mat b)
    {
        using var d = new Mat();
        Cv2.Absdiff(a, b, d);
        var s = Cv2.Mean(d);
        return (s.Val0 + s.Val1 + s.Val2) / 3;
    }
}
