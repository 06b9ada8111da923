using Vivify.Media;

namespace Vivify.Tests;

/// <summary>A variable-rate clip's frames are written at their own times on a constant-rate grid.</summary>
public class FrameTimingTests
{
    private static double[] Grid(int n, double fps, double t0 = 0) => [.. Enumerable.Range(0, n).Select(i => t0 + i / fps)];

    [Fact]
    public void AConstantRateClipIsWrittenOneForOneAtItsOwnRate()
    {
        // exactly on the grid, and with timestamps jittered by up to 0.4 frame (rounded container times)
        var jitter = Grid(100, 29.97, 1.5).Select((t, i) => t + (i % 3 - 1) * 0.4 / 29.97).ToArray();
        foreach (var times in new[] { Grid(100, 25), Grid(100, 29.97, 1.5), jitter })
        {
            var t = FrameTiming.For(times, times == jitter ? 29.97 : times[1] - times[0] > 0.035 ? 25 : 29.97, 100);
            Assert.True(t.Constant);
            Assert.Equal(100, t.OutputFrames);
        }
        // times unknown: as announced
        Assert.Equal(new FrameTiming(24, [1, 1, 1]).Repeats, FrameTiming.For([], 24, 3).Repeats);
    }

    [Fact]
    public void AGapIsHeldAndTheFramesAfterItKeepTheirTimes()
    {
        // 24 fps with frames 20-40 missing (a phone dropping frames): 75 frames over 4 s, announced at their average 18.75
        var times = Grid(96, 24).Where((_, i) => i < 20 || i > 40).ToArray();
        var t = FrameTiming.For(times, 18.75, times.Length);
        Assert.Equal(24, t.Fps);
        Assert.Equal(96, t.OutputFrames);
        Assert.Equal(22, t.Repeats[19]);                   // frame 19 holds slots 19-40
        Assert.All(t.Repeats.Where((_, i) => i != 19), r => Assert.Equal(1, r));
        // every frame written starts within half a slot of its own time
        int slot = 0;
        for (int i = 0; i < times.Length; i++) { if (t.Repeats[i] > 0) Assert.InRange(times[i] - slot / t.Fps, -0.5 / t.Fps, 0.5 / t.Fps); slot += t.Repeats[i]; }
    }

    [Fact]
    public void ALowLightStretchAtHalfTheRateIsHeldTwiceAndABurstIsThinned()
    {
        // 30 fps, then 2 s at 15 fps (each frame held for two slots), then 30 fps again
        var times = new List<double>();
        double t0 = 0;
        for (int i = 0; i < 60; i++) times.Add(t0 + i / 30.0);
        t0 = times[^1] + 1 / 30.0;
        for (int i = 0; i < 30; i++) times.Add(t0 + i / 15.0);
        t0 = times[^1] + 1 / 15.0;
        for (int i = 0; i < 60; i++) times.Add(t0 + i / 30.0);
        var t = FrameTiming.For(times, times.Count / (times[^1] + 1 / 30.0), times.Count);
        Assert.Equal(30, t.Fps);
        Assert.Equal(180, t.OutputFrames);               // 6 s at 30 fps
        Assert.All(t.Repeats.Skip(60).Take(30), r => Assert.Equal(2, r));
        // a burst: two frames 5 ms apart share one slot, and the later is shown
        var burst = Grid(50, 25).ToList(); burst.Insert(26, burst[25] + 0.005);
        var b = FrameTiming.For(burst, 25, burst.Count);
        Assert.Equal(50, b.OutputFrames);
        Assert.Equal(0, b.Repeats[25]);
        Assert.Equal(1, b.Repeats[26]);
    }
}
