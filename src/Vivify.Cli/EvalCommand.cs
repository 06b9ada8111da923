// `vivify eval self --video V [--start S --duration D] [--side-by-side OUT.mp4] [--json F]`:
// self-reenactment scores (see Vivify.Evaluation.SelfReenactment), printed as a table and
// written to JSON. The ablation switches of `animate` apply.
using System.CommandLine;
using System.Text.Json;
using Vivify;
using Vivify.Evaluation;
using Vivify.Faces;
using Vivify.Media;

namespace Vivify.Cli;

internal static class EvalCommand
{
    public static Command Create()
    {
        var video = new Option<string>("--video") { Description = "A real talking-face video: its first frame is animated with the video itself.", Required = true };
        var side = new Option<string?>("--side-by-side") { Description = "Write portrait | driver | result | difference x4 (.mp4)." };
        var json = new Option<string?>("--json") { Description = "Write every number (summary and per frame) here." };
        var o = new AnimateCommand.CommonOptions();
        var self = new Command("self", "Self-reenactment: animate a video's first frame with the video and compare with the real frames.") { video, side, json };
        o.AddTo(self);
        self.SetAction(r => RunSelf(r.GetValue(video)!, r.GetValue(side), r.GetValue(json), o.Read(r), r.GetValue(o.Quiet)));
        var portrait = new Option<string>("--portrait", "-p") { Description = "The portrait to animate.", Required = true };
        var driver = new Option<string>("--driver", "-d") { Description = "The driving video.", Required = true };
        var json2 = new Option<string?>("--json") { Description = "Write the scores here." };
        var driverFace = AnimateCommand.DriverFaceOption();
        var o2 = new AnimateCommand.CommonOptions();
        var cross = new Command("cross", "Cross-reenactment: does the animated portrait's landmark motion follow the driver's (correlation, gain; overall, brow raise, mouth opening)?") { portrait, driver, json2 };
        o2.AddTo(cross);
        cross.Options.Add(driverFace);
        cross.SetAction(r => RunCross(r.GetValue(portrait)!, r.GetValue(driver)!, r.GetValue(json2), o2.Read(r), r.GetValue(driverFace)));
        return new Command("eval", "Measure Vivify against ground truth.") { self, cross };
    }

    private static int RunCross(string portraitPath, string driverPath, string? jsonPath, Vivify.Animation.AnimationOptions opt, int driverFace)
    {
        var driverOptions = AnimateCommand.DriverOptions(opt, driverFace);
        if (jsonPath is not null) LandmarksCommand.CheckOutputPath(jsonPath, null);
        using var portrait = MediaFile.LoadImage(portraitPath, opt.MaxPixels);
        if (MediaFile.Probe(driverPath) != MediaKind.Video) throw MediaFile.NotAVideo(driverPath, "the driver");
        using var detector = new FaceDetector();
        var r = CrossReenactment.Run(portraitPath, portrait, driverPath, opt, detector, driverOptions: driverOptions);
        Console.WriteLine($"cross-reenactment: {Path.GetFileName(portraitPath)} driven by {Path.GetFileName(driverPath)} ({r.Frames} frames; driver brow range {r.DriverBrowRange:0.000} IOD, mouth range {r.DriverMouthRange:0.000} IOD)");
        Console.WriteLine($"{"",-14} {"per frame",-18} {"tracked",-18} | {"engine vs itself",-18} {"tracked",-18}");
        Console.WriteLine($"{"",-14} {"correlation  gain",-18} {"correlation  gain",-18} | {"correlation  gain",-18} {"correlation  gain",-18}");
        static string Cell(FollowScore? f) => f is null ? $"{"-",-18}" : $"{f.Correlation,11:0.000} {f.Gain,6:0.000}";
        FollowScores? t = r.Tracked, a = r.EngineAgreement, at = r.EngineAgreementTracked;
        foreach (var (name, raw, pick) in new (string, FollowScore, Func<FollowScores, FollowScore>)[]
                 {
                     ("overall", r.Overall, s => s.Overall), ("brow raise", r.BrowRaise, s => s.BrowRaise),
                     ("  eyes open", r.BrowRaiseEyesOpen ?? r.BrowRaise, s => s.BrowRaiseEyesOpen), ("mouth opening", r.MouthOpening, s => s.MouthOpening),
                 })
            Console.WriteLine($"{name,-14} {Cell(raw)} {Cell(t is null ? null : pick(t))} | {Cell(a is null ? null : pick(a))} {Cell(at is null ? null : pick(at))}");
        if (t is not null)
        {
            Console.WriteLine($"overall by region: {"",-10} {"per frame",-18} {"tracked",-18} {"engine vs itself",-18} {"where the warp puts them",-18}");
            foreach (var g in FollowScores.RegionRanges)
                Console.WriteLine($"  {g.Name,-26} {Cell(r.Regions![g.Name])} {Cell(t.Regions[g.Name])} {Cell(a!.Regions[g.Name])} {Cell(r.Commanded!.Regions[g.Name])}");
        }
        if (r.AgainstTrack is { } vt)
            Console.WriteLine($"against the driver's track (what the animation was given) rather than its per-frame reading: overall {vt.Overall.Correlation:0.000} / {vt.Overall.Gain:0.000}, " +
                              $"brow raise {vt.BrowRaise.Correlation:0.000} / {vt.BrowRaise.Gain:0.000}, mouth opening {vt.MouthOpening.Correlation:0.000} / {vt.MouthOpening.Gain:0.000}");
        Console.WriteLine($"('eyes open': the brow raise on the {r.EyesOpenFrames} frames where the driver's eyes read {CrossReenactmentResult.EyesOpenShare} or more of their usual opening; " +
                          $"'tracked': both readings smoothed as the engine's tracker smooths a video; 'engine vs itself': the driver's frames read enlarged {CrossReenactmentResult.EnlargedReading}x against as they are, " +
                          "the most any output could score)");
        if (r.OpenMouthFrames > 0)
            Console.WriteLine($"open mouth: on the {r.OpenMouthFrames} frames where the driver's inner lips part {CrossReenactmentResult.OpenMouthThreshold} IOD or more beyond frame 0, the output opens {r.OpenMouthGain:0.000} times as wide" +
                              (t?.OpenMouthGain is { } tg ? $" ({tg:0.000} tracked)" : ""));
        Console.WriteLine($"stillness: image border (2 px) vs frame 0, worst frame {r.BorderChangeMax:0.000} grey levels; far from the face, frame to frame {r.FarChangeMean:0.000} grey levels");
        Console.WriteLine($"(where the warp puts the landmarks: brow raise {r.CommandedBrowRaise.Correlation:0.000} / {r.CommandedBrowRaise.Gain:0.000}, mouth opening {r.CommandedMouthOpening.Correlation:0.000} / {r.CommandedMouthOpening.Gain:0.000})");
        if (r.PaintedMouthOpening is { } pm)
            Console.WriteLine($"(the output with its opening painted dark exactly where the warp put the inner lips: mouth opening {pm.Correlation:0.000} / {pm.Gain:0.000}, what the engine reads of a clear opening on this face)");
        if (jsonPath is not null)
        {
            using var output = new AtomicOutput(jsonPath);
            output.Writer.Write(JsonSerializer.Serialize(r, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            output.Commit();
        }
        return 0;
    }

    private static int RunSelf(string video, string? side, string? jsonPath, Vivify.Animation.AnimationOptions opt, bool quiet)
    {
        if (MediaFile.Probe(video) != MediaKind.Video) throw MediaFile.NotAVideo(video, "the video to reenact");
        if (side is not null) LandmarksCommand.CheckOutputPath(side, FfmpegVideoWriter.Extensions);
        if (jsonPath is not null) LandmarksCommand.CheckOutputPath(jsonPath, null);
        using var detector = new FaceDetector();
        var progress = new ProgressReporter(quiet);
        int total = AnimateCommand.EstimateFrames(video, opt);
        var result = progress.Run("self-reenactment", total * 2, report =>
            SelfReenactment.Run(video, opt.Start, opt.Duration, opt, detector, side,
                (stage, done, _) => report(stage == "tracking" ? done : total + done)));
        var m = result.Method; var s = result.StillCopy;
        Console.WriteLine($"self-reenactment: {video} from {opt.Start:0.##} s, {result.Frames} frames ({result.Duration:0.##} s), {result.ExpansionPoints} expansion points; means over frames 1..{result.Frames - 1}");
        Console.WriteLine($"{"",-12} {"PSNR frame",10} {"PSNR face",10} {"SSIM frame",10} {"SSIM face",10} {"AKD px",8} {"AKD/IOD",8}");
        static void Row(string name, ScoreSummary r, string note = "") =>
            Console.WriteLine($"{name,-12} {r.PsnrFrame,10:0.00} {r.PsnrFace,10:0.00} {r.SsimFrame,10:0.000} {r.SsimFace,10:0.000} {r.AkdPx,8:0.000} {r.AkdIod,8:0.0000}{note}");
        Row("vivify", m);
        if (result.Expressive is { } x)
            Row("expressive", x, $"   ({result.ExpressiveFrames.Count} frames whose brow raise or mouth width differs from the portrait's by {SelfReenactmentResult.ExpressiveThreshold} IOD or more)");
        if (result.OpenMouth is { } om)
            Row("open mouth", om, $"   ({result.OpenMouthFrames.Count} frames whose inner lips part {SelfReenactmentResult.OpenMouthThreshold} IOD or more beyond the portrait's)");
        Row("still copy", s);
        if (jsonPath is not null)
        {
            using var output = new AtomicOutput(jsonPath);
            output.Writer.Write(JsonSerializer.Serialize(new
            {
                video, start = opt.Start, duration = result.Duration, frames = result.Frames,
                options = new { expansion = opt.Expansion, smoothing = opt.Smoothing, head_motion = opt.HeadMotion, mouth = opt.Mouth, eyelids = opt.Eyelids, details = opt.Details, details_strength = opt.Detail.Strength },
                expansion_points = result.ExpansionPoints,
                method = result.Method, expressive = result.Expressive, expressive_frames = result.ExpressiveFrames.Count, open_mouth = result.OpenMouth, open_mouth_frames = result.OpenMouthFrames.Count, still_copy = result.StillCopy, per_frame = result.PerFrame,
            }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            output.Commit();
        }
        return 0;
    }
}
