// ReactionRenderer: a portrait's reactive profile (TECHNIQUE.md stage 7): one short looping clip
// per reaction found in the drivers, an idle loop, a still and a manifest, in one folder.
// How: ReactionPlan.Find tracks each driver once (landmarks only) and asks ReactionFinder for its
// segments; the best of each kind and the quietest idle window are kept. Render then animates the
// portrait (scaled to MaxSide) with each segment through PortraitAnimator, the segment's first
// frame taken as the neutral one, so every clip starts on the portrait itself:
//  - a reaction clip (neutral -> peak -> neutral) blends its last EndBlendFrames into its first
//    frame, so it ends exactly where it began and idle can take over without a jump;
//  - the idle loop is made seamless by crossfading: its last LoopBlendFrames fade into its first
//    ones and the first ones are then dropped, so the last frame leads straight into the first.
// Requires: ffmpeg (H.264 MP4, faststart: plays in browsers); a portrait with a face.
// Guarantees: clips are written into a temporary sibling folder and moved into place only when
// all are done, so a failed run leaves no half-written output; manifest.json lists every clip
// (name, file, duration, peak time, score, source) and the kinds that no driver held.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Media;

namespace Vivify.Reactions;

/// <summary>What the drivers hold: every segment found per driver, the best per kind, the idle window.</summary>
public sealed class ReactionPlan
{
    public required List<DriverSummary> Drivers { get; init; }
    public required List<ReactionSegment> Best { get; init; }
    public required ReactionSegment Idle { get; init; }
    public IEnumerable<string> Missing => ReactionFinder.Kinds.Where(k => Best.All(b => b.Name != k));

    public sealed record DriverSummary(string Path, int Frames, double Fps, List<ReactionSegment> Segments, ReactionSegment? Idle);

    /// <summary>Tracks each driver (landmarks only) and finds its segments. progress: (driver, frames done, frames expected).</summary>
    public static ReactionPlan Find(IReadOnlyList<string> drivers, FaceDetector detector, ReactionFinderOptions? options = null,
        Action<string, int, int>? progress = null)
    {
        if (drivers.Count == 0) throw new VivifyException(null, "no driving videos given");
        var summaries = new List<DriverSummary>();
        foreach (var path in drivers)
        {
            int expected;
            using (var r = new VideoReader(path)) expected = r.FrameCountHint;
            var track = DriverTrack.Analyse(path, detector, new DriverTrack.Options { TrackPoints = false }, done => progress?.Invoke(path, done, expected));
            var d = ReactionFinder.Analyse(track.Landmarks, track.Fps, options);
            var name = System.IO.Path.GetFileName(path);
            summaries.Add(new DriverSummary(path, track.FrameCount, track.Fps,
                ReactionFinder.Find(d, path, options), ReactionFinder.FindIdle(d, path, options)));
        }
        var idle = summaries.Where(s => s.Idle is not null).Select(s => s.Idle!).OrderByDescending(s => s.Score).FirstOrDefault()
            ?? throw new VivifyException(drivers[0], "too short for an idle loop (needs a few seconds of video)");
        return new ReactionPlan { Drivers = summaries, Best = ReactionFinder.BestPerKind(summaries.SelectMany(s => s.Segments)), Idle = idle };
    }
}

public sealed record ReactionClip(string Name, string File, double Duration, double PeakTime, double Score, string Driver, double DriverStart, int Frames);

public sealed record ReactionManifest(int Version, string Portrait, int Width, int Height, ReactionClip Idle, List<ReactionClip> Reactions,
    List<string> Missing, string Still)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static ReactionManifest Read(string path) => JsonSerializer.Deserialize<ReactionManifest>(File.ReadAllText(path), Json)
        ?? throw new VivifyException(path, "not a reaction manifest");
}

public sealed record ReactionRenderOptions
{
    /// <summary>The portrait is scaled down so its longer side is at most this (profile pictures are small; rendering time grows with pixels).</summary>
    public int MaxSide { get; init; } = 640;
    public int EndBlendFrames { get; init; } = 6;
    public int LoopBlendFrames { get; init; } = 12;
    /// <summary>Expression only by default: a driver's head turns, transferred onto a still portrait, fold the face in
    /// laughs (seen on franck.mp4), and clips that keep the head where the idle loop has it blend without a jump.</summary>
    public AnimationOptions Animation { get; init; } = new() { HeadMotion = false };
}

public static class ReactionRenderer
{
    public const string ManifestName = "manifest.json";

    /// <summary>Frames Render will write for a plan (for progress displays).</summary>
    public static int TotalFrames(ReactionPlan plan, ReactionRenderOptions? options = null)
    {
        var o = options ?? new ReactionRenderOptions();
        return plan.Best.Sum(s => s.FrameCount) + plan.Idle.FrameCount - LoopBlend(plan.Idle.FrameCount, o);
    }

    private static int LoopBlend(int frames, ReactionRenderOptions o) => Math.Clamp(o.LoopBlendFrames, 0, frames / 3);

    /// <summary>
    /// Renders every clip of the plan for the portrait into <paramref name="outDir"/> (created; must not hold files).
    /// progress: (clip name, frames done over all clips, total frames).
    /// </summary>
    public static ReactionManifest Render(Mat portrait, string portraitName, ReactionPlan plan, FaceDetector detector, string outDir,
        ReactionRenderOptions? options = null, Action<string, int, int>? progress = null, CancellationToken cancel = default)
    {
        var o = options ?? new ReactionRenderOptions();
        var target = Path.GetFullPath(outDir.TrimEnd('/'));
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new VivifyException(outDir, "output folder is not empty");
        var parent = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(parent)) throw new VivifyException(outDir, "the folder it would go in does not exist");
        var temp = Path.Combine(parent, $".{Path.GetFileName(target)}.partial-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(temp);
        try
        {
            using var small = ScaleDown(portrait, o.MaxSide);
            // a first look at the portrait: a clear error before any rendering when it has no usable face
            var faces = detector.Detect(small);
            if (faces.Count == 0) throw new VivifyException(portraitName, "no face found in the portrait");
            if (faces[o.Animation.FaceIndex < faces.Count ? o.Animation.FaceIndex : 0].InterOcularDistance < o.Animation.MinFaceIod)
                throw new VivifyException(portraitName, "the face is too small to animate (use a larger or closer-cropped portrait)");
            Cv2.ImWrite(Path.Combine(temp, "still.jpg"), small, [new ImageEncodingParam(ImwriteFlags.JpegQuality, 92)]);
            int total = TotalFrames(plan, o), done = 0;
            void Step(string name) { done++; progress?.Invoke(name, done, total); }
            var idle = RenderClip(small, portraitName, plan.Idle, detector, temp, o, loop: true, Step, cancel);
            var clips = new List<ReactionClip>();
            foreach (var seg in plan.Best) clips.Add(RenderClip(small, portraitName, seg, detector, temp, o, loop: false, Step, cancel));
            var manifest = new ReactionManifest(1, Path.GetFileName(portraitName), small.Width, small.Height, idle, clips, [.. plan.Missing], "still.jpg");
            File.WriteAllText(Path.Combine(temp, ManifestName), JsonSerializer.Serialize(manifest, ReactionManifest.Json));
            if (Directory.Exists(target)) Directory.Delete(target);
            Directory.Move(temp, target);
            return manifest;
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, true);
        }
    }

    /// <summary>A copy scaled (area interpolation) so the longer side is at most maxSide, with even sides for H.264.</summary>
    public static Mat ScaleDown(Mat portrait, int maxSide) => MediaFile.ScaleToFit(portrait, maxSide, evenSides: true);

    private static ReactionClip RenderClip(Mat portrait, string portraitName, ReactionSegment seg, FaceDetector detector, string dir,
        ReactionRenderOptions o, bool loop, Action<string> step, CancellationToken cancel)
    {
        var track = DriverTrack.Analyse(seg.Driver, detector, new DriverTrack.Options { Start = seg.StartSeconds, Duration = seg.DurationSeconds });
        using var anim = new PortraitAnimator(portrait, portraitName, track, detector, o.Animation with { NeutralFrame = 0 });
        int n = track.FrameCount;
        string file = seg.Name + ".mp4";
        int blend = loop ? LoopBlend(n, o) : Math.Clamp(o.EndBlendFrames, 0, n / 3);
        var kept = new List<Mat>();   // loop: the first `blend` frames; reaction: the first frame
        int written = 0;
        try
        {
            using var writer = new FfmpegVideoWriter(Path.Combine(dir, file), portrait.Width, portrait.Height, track.Fps);
            using var mixed = new Mat();
            foreach (var (i, frame, _) in anim.RenderAll())
            {
                cancel.ThrowIfCancellationRequested();
                if (loop)
                {
                    if (i < blend) { kept.Add(frame.Clone()); continue; }
                    if (i >= n - blend)
                    {
                        int u = i - (n - blend);
                        double a = (u + 1.0) / (blend + 1);
                        Cv2.AddWeighted(frame, 1 - a, kept[u], a, 0, mixed);
                        writer.Write(mixed);
                    }
                    else writer.Write(frame);
                }
                else
                {
                    if (i == 0) kept.Add(frame.Clone());
                    if (blend > 0 && i >= n - blend)
                    {
                        double a = (i - (n - blend) + 1.0) / blend;
                        Cv2.AddWeighted(frame, 1 - a, kept[0], a, 0, mixed);
                        writer.Write(mixed);
                    }
                    else writer.Write(frame);
                }
                written++;
                step(seg.Name);
            }
            writer.Complete();
        }
        finally { foreach (var m in kept) m.Dispose(); }
        double fps = track.Fps;
        double peak = loop ? Math.Max(0, (seg.Peak - seg.Start - blend) / fps) : seg.PeakSeconds;
        return new ReactionClip(seg.Name, file, Math.Round(written / fps, 3), Math.Round(peak, 3), seg.Score,
            Path.GetFileName(seg.Driver), Math.Round(seg.StartSeconds, 3), written);
    }
}
