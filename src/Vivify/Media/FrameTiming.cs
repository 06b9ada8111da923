// FrameTiming: how a clip's frames are shown at the constant rate a video file is written at.
// A phone records at a variable rate (it drops to fewer frames a second in low light, or skips
// frames under load); written one for one at its average rate, such a clip plays too slowly
// where its frames came fast and too quickly after a gap, and its sound drifts away from the
// lips. Here its frames are placed at their own times on a grid at the clip's usual rate (the
// median interval between frames): a frame is held over the slots it covers, and a frame that
// shares its slot with a later one is dropped.
// Requires: the frames' times in showing order (seconds), and the rate the container announces.
// Guarantees: a clip whose every frame lies within half a frame of a grid at the announced rate is
// written one for one at that rate (Constant); otherwise each slot (centred on its time) shows
// the latest frame that has begun by the slot's end, so every frame written starts within half a
// slot of its own time.
namespace Vivify.Media;

public sealed record FrameTiming(double Fps, int[] Repeats)
{
    /// <summary>Frames written: the sum of the repeats.</summary>
    public int OutputFrames => Repeats.Sum();

    /// <summary>True when every frame is written exactly once.</summary>
    public bool Constant => Repeats.All(r => r == 1);

    /// <summary>The timing for frames shown at <paramref name="times"/>; an empty list (times unknown) or a constant-rate
    /// clip keeps <paramref name="announcedFps"/> one for one (<paramref name="count"/> frames).</summary>
    public static FrameTiming For(IReadOnlyList<double> times, double announcedFps, int count)
    {
        if (times.Count != count || count < 2 || OnGrid(times, announcedFps))
            return new FrameTiming(announcedFps, Enumerable.Repeat(1, count).ToArray());
        var gaps = Enumerable.Range(1, count - 1).Select(i => times[i] - times[i - 1]).Where(g => g > 0).Order().ToArray();
        double fps = gaps.Length == 0 ? announcedFps : Math.Clamp(1 / gaps[gaps.Length / 2], 1, 240);
        // a rate the eye reads as a whole number (24, 25, 30, 60) or 29.97 is kept as such
        fps = Math.Abs(fps - Math.Round(fps)) < 0.02 ? Math.Round(fps) : Math.Round(fps, 3);
        int slots = (int)Math.Round((times[^1] - times[0]) * fps) + 1;
        var repeats = new int[count];
        int j = 0;
        for (int k = 0; k < slots; k++)
        {
            double due = times[0] + (k + 0.5) / fps;
            while (j + 1 < count && times[j + 1] <= due) j++;
            repeats[j]++;
        }
        return new FrameTiming(fps, repeats);
    }

    /// <summary>True when every frame lies within half a frame of one grid at <paramref name="fps"/> (its offset the frames'
    /// median: a first frame whose time is rounded early does not shift the grid).</summary>
    private static bool OnGrid(IReadOnlyList<double> times, double fps)
    {
        var offsets = Enumerable.Range(0, times.Count).Select(i => times[i] - i / fps).Order().ToArray();
        double origin = offsets[offsets.Length / 2];
        return offsets.All(o => Math.Abs(o - origin) <= 0.5 / fps);
    }
}
