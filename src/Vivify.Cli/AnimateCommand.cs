// `vivify animate --portrait P --driver D -o OUT [options]`: the product's main job.
// OUT's extension picks the format: .mp4 (H.264, with the driver's sound for the part animated
// unless --no-audio), .gif, .webp, or a folder of PNGs.
using System.CommandLine;
using System.Globalization;
using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Media;

namespace Vivify.Cli;

internal static class AnimateCommand
{
    public static Command Create()
    {
        var portrait = new Option<string>("--portrait", "-p") { Description = "The portrait to animate (an image).", Required = true };
        var driver = new Option<string>("--driver", "-d") { Description = "The driving video (another person's face): an MP4, MOV, WebM or other video ffmpeg reads, or an animated GIF.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "OUT.mp4, OUT.gif, OUT.webp, or a folder (ending in /) for PNG frames.", Required = true };
        var noAudio = new Option<bool>("--no-audio") { Description = "Leave the driver's sound out of an MP4 (by default the part animated keeps it)." };
        var maxSide = new Option<int?>("--max-side") { Description = $"Scale the portrait down (area averaging) so that its longer side is at most this many pixels (at least {MinMaxSide}) before animating: a smaller output, made faster (default: the portrait's full resolution)." };
        var driverFace = DriverFaceOption();
        var o = new CommonOptions();
        var cmd = new Command("animate", "Animate a portrait with the expressions and head motion of a driving video.") { portrait, driver, output };
        o.AddTo(cmd);
        cmd.Options.Add(noAudio);
        cmd.Options.Add(maxSide);
        cmd.Options.Add(driverFace);
        cmd.SetAction(r => Run(r.GetValue(portrait)!, r.GetValue(driver)!, r.GetValue(output)!, o.Read(r), r.GetValue(o.Quiet), !r.GetValue(noAudio), r.GetValue(maxSide), r.GetValue(driverFace)));
        return cmd;
    }

    /// <summary>--driver-face (animate and eval cross): which person of a driver showing several the tracker follows.</summary>
    internal static Option<int> DriverFaceOption() =>
        new("--driver-face") { Description = "Which face of a driver showing several people follows (0 = the largest where a face is first found).", DefaultValueFactory = _ => 0 };

    /// <summary>The driver's options for <paramref name="opt"/>, following face <paramref name="driverFace"/> (checked).</summary>
    internal static DriverTrack.Options DriverOptions(AnimationOptions opt, int driverFace)
    {
        if (driverFace < 0) throw new VivifyException(null, "--driver-face must be 0 or more");
        return DriverTrack.Options.For(opt) with { FaceIndex = driverFace };
    }

    /// <summary>Options shared by animate and eval.</summary>
    internal sealed class CommonOptions
    {
        public readonly Option<int?> Neutral = new("--neutral-frame") { Description = "The driver's neutral frame (index within the chosen part); default: chosen automatically." };
        public readonly Option<int> Face = new("--face") { Description = "Which face of a group portrait (0 = the largest).", DefaultValueFactory = _ => 0 };
        public readonly Option<bool> NoHead = new("--no-head-motion") { Description = "Transfer the expression only, not the head's motion." };
        public readonly Option<double> Start = new("--start") { Description = "Start of the driver part, seconds.", DefaultValueFactory = _ => 0 };
        public readonly Option<double?> Duration = new("--duration") { Description = "Length of the driver part, seconds (default: to the end)." };
        public readonly Option<bool> NoExpansion = new("--no-expansion") { Description = "Ablation: facial points, a fixed ring and the border only (no tracked points on hair, neck, background)." };
        public readonly Option<bool> NoSmoothing = new("--no-smoothing") { Description = "Ablation: plain piecewise-affine warp everywhere." };
        public readonly Option<bool> NoMouth = new("--no-mouth") { Description = "Ablation: leave the open mouth as the warp stretches it (no interior from the driver)." };
        public readonly Option<bool> NoEyelids = new("--no-eyelids") { Description = "Ablation: eyes close only as far as the landmarks read (half, on a blink), a closing eye is squashed by the warp instead of its lids covering the eyeball, and a widening eye is stretched (iris into an oval) instead of showing more of a round eyeball." };
        public readonly Option<bool> NoDetails = new("--no-details") { Description = "Ablation: no fine-scale details (wrinkles, folds) from the driver." };
        public readonly Option<double> DetailsStrength = new("--details-strength") { Description = "Scale the transferred details (0 = none, 1 = as in the driver).", DefaultValueFactory = _ => 1.0 };
        public readonly Option<long> MaxPixels = new("--max-pixels") { Description = "Refuse portraits larger than this many pixels.", DefaultValueFactory = _ => MediaFile.DefaultMaxPixels };
        public readonly Option<bool> Quiet = new("--quiet", "-q") { Description = "No progress display." };

        public void AddTo(Command c)
        {
            foreach (var opt in new Option[] { Neutral, Face, NoHead, Start, Duration, NoExpansion, NoSmoothing, NoMouth, NoEyelids, NoDetails, DetailsStrength, MaxPixels, Quiet }) c.Options.Add(opt);
        }

        public AnimationOptions Read(ParseResult r)
        {
            double strength = r.GetValue(DetailsStrength);
            if (!(strength >= 0 && strength <= 4)) throw new VivifyException(null, "--details-strength must be between 0 and 4");
            return new()
            {
                NeutralFrame = r.GetValue(Neutral), FaceIndex = r.GetValue(Face), HeadMotion = !r.GetValue(NoHead),
                Start = r.GetValue(Start), Duration = r.GetValue(Duration), Expansion = !r.GetValue(NoExpansion),
                Smoothing = !r.GetValue(NoSmoothing), Mouth = !r.GetValue(NoMouth), Eyelids = !r.GetValue(NoEyelids), BlinkDepth = !r.GetValue(NoEyelids), EyeWidening = !r.GetValue(NoEyelids), MaxPixels = r.GetValue(MaxPixels),
                Details = !r.GetValue(NoDetails), Detail = new() { Strength = strength },
            };
        }
    }

    /// <summary>The smallest --max-side taken.</summary>
    internal const int MinMaxSide = 64;

    private static int Run(string portraitPath, string driverPath, string outPath, AnimationOptions opt, bool quiet, bool keepAudio, int? maxSide, int driverFace)
    {
        var driverOptions = DriverOptions(opt, driverFace);
        if (opt.Start < 0) throw new VivifyException(null, "--start must be 0 or more");
        if (maxSide < MinMaxSide) throw new VivifyException(null, $"--max-side must be at least {MinMaxSide}");
        if (opt.Duration is <= 0) throw new VivifyException(null, "--duration must be more than 0");
        var sink = FrameSink.Check(outPath);
        if (MediaFile.Probe(portraitPath) != MediaKind.Image) throw MediaFile.NotAStill(portraitPath!);
        if (MediaFile.Probe(driverPath) != MediaKind.Video) throw MediaFile.NotAVideo(driverPath, "the driver");
        using var loaded = MediaFile.LoadImage(portraitPath, opt.MaxPixels);
        using var scaled = maxSide is { } side && Math.Max(loaded.Width, loaded.Height) > side ? MediaFile.ScaleToFit(loaded, side) : null;
        var portrait = scaled ?? loaded;
        if (scaled is not null && !quiet)
            Console.Error.WriteLine($"vivify: {portraitPath}: {loaded.Width}x{loaded.Height} scaled to {portrait.Width}x{portrait.Height} (--max-side {maxSide})");
        using var detector = new FaceDetector();
        var progress = new ProgressReporter(quiet);
        int expected = EstimateFrames(driverPath, opt);
        // the portrait is analysed before the driver is tracked: a portrait without a usable face is refused at once
        using var animator = progress.Run("tracking driver", expected, report =>
            PortraitAnimator.Open(portrait, portraitPath, driverPath, detector, opt, driverOptions, report));
        var driver = animator.Driver;
        if (!quiet)
        {
            if (animator.PortraitFaceCount > 1 && opt.FaceIndex == 0)
                Console.Error.WriteLine($"vivify: {portraitPath}: {animator.PortraitFaceCount} faces found; animating the largest (choose another with --face N)");
            if (driver.FacesAtStart > 1 && driverFace == 0)
                Console.Error.WriteLine($"vivify: {driverPath}: {driver.FacesAtStart} faces where a face is first found; following the largest (choose another with --driver-face N)");
            if (driver.BrokeOff)
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"vivify: {driverPath}: the video breaks off at {(driver.Times.Count > 0 ? driver.Times[^1] : driver.Start + driver.FrameCount / driver.Fps):0.0} s of the {driver.AnnouncedFrames / driver.Fps:0.0} s it announces (a damaged or unfinished file?); animating the {driver.FrameCount} frames up to there"));
            if (driver.BridgedFrames > 0)
                Console.Error.WriteLine($"vivify: {driverPath}: the face was lost on {driver.BridgedFrames} of {driver.FrameCount} frames; they were bridged from their neighbours");
        }
        // a variable-rate driver's frames are written at their own times on a constant-rate grid
        var timing = FrameTiming.For(driver.Times, driver.Fps, driver.FrameCount);
        if (!quiet && !timing.Constant)
            Console.Error.WriteLine($"vivify: {driverPath}: variable frame rate ({driver.FrameCount} frames over {driver.Times[^1] - driver.Times[0] + 1 / timing.Fps:0.##} s); written at {timing.Fps:0.###} fps with each frame at its own time ({timing.OutputFrames} frames)");
        // the driver's sound for the frames animated: from the first frame's time for as long as the frames last
        var sound = keepAudio && sink == FrameSink.Kind.Video && FfmpegVideoWriter.CarriesAudio(outPath) ? MediaFile.Sound(driverPath) : null;
        double firstTime = driver.Times.Count > 0 ? driver.Times[0] : Math.Round(driver.Start * driver.Fps) / driver.Fps;
        var audio = sound is null ? null : new AudioTrack(driverPath, sound.VideoStartSeconds + firstTime, timing.OutputFrames / timing.Fps);
        using (var writer = FrameSink.Open(outPath, sink, portrait.Width, portrait.Height, timing.Fps, audio))
        {
            progress.Run("rendering", driver.FrameCount, report =>
            {
                foreach (var (i, frame, _) in animator.RenderAll())
                {
                    for (int r = 0; r < timing.Repeats[i]; r++) writer.Write(frame);
                    report(i + 1);
                }
                return 0;
            });
            writer.Complete();
        }
        if (!quiet) Console.Error.WriteLine($"vivify: wrote {outPath} ({timing.OutputFrames} frames, {portrait.Width}x{portrait.Height}, {timing.Fps:0.##} fps{(audio is null ? "" : ", with the driver's sound")}; neutral frame {animator.NeutralFrame}, {animator.Points.ExpansionCount} expansion points)");
        return 0;
    }

    internal static int EstimateFrames(string path, AnimationOptions opt)
    {
        using var r = new VideoReader(path);
        int total = r.FrameCountHint - (int)Math.Round(opt.Start * r.Fps);
        if (opt.Duration is { } d) total = Math.Min(total, (int)Math.Round(d * r.Fps));
        return Math.Max(total, 0);
    }
}
