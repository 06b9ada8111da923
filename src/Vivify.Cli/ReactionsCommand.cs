// `vivify reactions --portrait P -o DIR [--drivers DIR|FILE...]`: a reactive profile for a
// portrait (TECHNIQUE.md stage 7): finds reaction segments in the driving videos (default: the
// sample videos from set-up), renders one looping clip per reaction and an idle loop into DIR
// with a manifest.json, and says which reactions were found and which not. --find-only lists the
// segments without rendering (no portrait needed). Bad input: one line naming the file, a
// non-zero exit, nothing written.
using System.CommandLine;
using Vivify.Faces;
using Vivify.Media;
using Vivify.Reactions;

namespace Vivify.Cli;

internal static class ReactionsCommand
{
    public static Command Create()
    {
        var portrait = new Option<string?>("--portrait", "-p") { Description = "The portrait (an image)." };
        var output = new Option<string?>("--output", "-o") { Description = "Folder for the clips and manifest.json (must not exist or be empty)." };
        var drivers = new Option<string[]>("--drivers", "-d")
        {
            Description = "Driving videos, or folders of them (default: the sample videos from set-up, data/samples/*.mp4).",
            AllowMultipleArgumentsPerToken = true,
        };
        var maxSide = new Option<int>("--max-side") { Description = "Scale the portrait down to at most this many pixels on its longer side.", DefaultValueFactory = _ => new ReactionRenderOptions().MaxSide };
        var findOnly = new Option<bool>("--find-only") { Description = "Only list the reaction segments found in the drivers; render nothing." };
        var maxPixels = new Option<long>("--max-pixels") { Description = "Refuse portraits larger than this many pixels.", DefaultValueFactory = _ => MediaFile.DefaultMaxPixels };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress display." };
        var cmd = new Command("reactions", "Find reactions (smile, laugh, surprise, ...) in driving videos and render a looping clip of each, plus an idle loop, for a portrait.")
        {
            portrait, output, drivers, maxSide, findOnly, maxPixels, quiet,
        };
        cmd.SetAction(r => Run(r.GetValue(portrait), r.GetValue(output), r.GetValue(drivers) ?? [], r.GetValue(maxSide), r.GetValue(findOnly), r.GetValue(maxPixels), r.GetValue(quiet)));
        return cmd;
    }

    /// <summary>Driving videos named on the command line (files, or folders' *.mp4/*.webm/*.mov/*.avi/*.mkv), or the samples.</summary>
    internal static List<string> ResolveDrivers(string[] given)
    {
        string[] exts = [".mp4", ".webm", ".mov", ".avi", ".mkv"];
        if (given.Length == 0)
        {
            var folder = SampleMedia.Folder;
            if (!Directory.Exists(folder)) throw new VivifyException(folder, "no sample videos (run scripts/setup.sh, or name drivers with --drivers)");
            given = [folder];
        }
        var result = new List<string>();
        foreach (var g in given)
        {
            if (Directory.Exists(g))
            {
                var vids = Directory.GetFiles(g).Where(f => exts.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList();
                // the samples come as .mp4 and .webm copies of the same clips: keep one of each
                vids = [.. vids.GroupBy(Path.GetFileNameWithoutExtension).Select(grp => grp.OrderBy(f => Array.IndexOf(exts, Path.GetExtension(f).ToLowerInvariant())).First())];
                if (vids.Count == 0) throw new VivifyException(g, "no videos in this folder");
                result.AddRange(vids);
            }
            else
            {
                if (MediaFile.Probe(g) != MediaKind.Video) throw MediaFile.NotAVideo(g, "a driver");
                result.Add(g);
            }
        }
        return result;
    }

    private static int Run(string? portraitPath, string? outDir, string[] driverArgs, int maxSide, bool findOnly, long maxPixels, bool quiet)
    {
        if (!findOnly && portraitPath is null) throw new VivifyException(null, "--portrait is required (or use --find-only)");
        if (!findOnly && outDir is null) throw new VivifyException(null, "--output is required (or use --find-only)");
        if (maxSide < 64) throw new VivifyException(null, "--max-side must be at least 64");
        if (outDir is not null && !findOnly)
        {
            var full = Path.GetFullPath(outDir.TrimEnd('/'));
            if (File.Exists(full)) throw new VivifyException(outDir, "is a file; the output is a folder");
            if (!Directory.Exists(Path.GetDirectoryName(full))) throw new VivifyException(outDir, "the folder it would go in does not exist");
            if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any()) throw new VivifyException(outDir, "output folder is not empty");
        }
        OpenCvSharp.Mat? portrait = null;
        if (!findOnly)
        {
            if (MediaFile.Probe(portraitPath!) != MediaKind.Image) throw MediaFile.NotAStill(portraitPath!);
            portrait = MediaFile.LoadImage(portraitPath!, maxPixels);
        }
        using var _ = portrait;
        var drivers = ResolveDrivers(driverArgs);
        using var detector = new FaceDetector();
        if (portrait is not null)
        {
            // before the drivers are analysed: a portrait without a usable face fails at once
            using var small = ReactionRenderer.ScaleDown(portrait, maxSide);
            if (detector.Detect(small).Count == 0) throw new VivifyException(portraitPath, "no face found in the portrait");
        }
        var progress = new ProgressReporter(quiet);
        var plan = ReactionPlan.Find(drivers, detector, null, (path, done, expected) => { });
        // (tracking is fast: ~500 frames/s; the per-driver lines below say what was found)
        foreach (var d in plan.Drivers)
        {
            var kinds = d.Segments.GroupBy(s => s.Name).Select(g => $"{g.Key} x{g.Count()} (best {g.Max(s => s.Score):0.00})");
            Console.Error.WriteLine($"{Path.GetFileName(d.Path)}: {d.Frames} frames: {(d.Segments.Count == 0 ? "no reactions" : string.Join(", ", kinds))}");
        }
        if (findOnly)
        {
            foreach (var s in plan.Best.Append(plan.Idle))
                Console.WriteLine(FormattableString.Invariant($"{s.Name,-9} {Path.GetFileName(s.Driver),-16} {s.StartSeconds,7:0.00}s +{s.DurationSeconds:0.00}s peak +{s.PeakSeconds:0.00}s score {s.Score:0.000}"));
            Console.WriteLine($"not found: {(plan.Missing.Any() ? string.Join(", ", plan.Missing) : "none")}");
            Console.WriteLine("all segments:");
            foreach (var s in plan.Drivers.SelectMany(d => d.Segments))
                Console.WriteLine(FormattableString.Invariant($"  {s.Name,-9} {Path.GetFileName(s.Driver),-16} {s.StartSeconds,7:0.00}s +{s.DurationSeconds:0.00}s peak +{s.PeakSeconds:0.00}s score {s.Score:0.000}  change: wide {s.PeakChange.MouthWidth:+0.000;-0.000} lift {s.PeakChange.CornerLift:+0.000;-0.000} open {s.PeakChange.MouthOpen:+0.000;-0.000} brow {s.PeakChange.BrowRaise:+0.000;-0.000} knit {s.PeakChange.BrowKnit:+0.000;-0.000} yaw {s.PeakChange.Yaw:+0.000;-0.000} pitch {s.PeakChange.Pitch:+0.000;-0.000}"));
            return 0;
        }
        var opt = new ReactionRenderOptions { MaxSide = maxSide, Animation = new ReactionRenderOptions().Animation with { MaxPixels = maxPixels } };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var manifest = progress.Run("rendering", ReactionRenderer.TotalFrames(plan, opt), report =>
            ReactionRenderer.Render(portrait!, portraitPath!, plan, detector, outDir!, opt, (_, done, _) => report(done)));
        if (!quiet)
        {
            Console.Error.WriteLine($"vivify: wrote {outDir} in {sw.Elapsed.TotalSeconds:0.0}s: idle loop ({manifest.Idle.Duration:0.0}s) and " +
                string.Join(", ", manifest.Reactions.Select(c => FormattableString.Invariant($"{c.Name} ({c.Duration:0.0}s, score {c.Score:0.00})"))));
            Console.Error.WriteLine($"vivify: not found in the drivers: {(manifest.Missing.Count > 0 ? string.Join(", ", manifest.Missing) : "none")}");
        }
        return 0;
    }
}
