using System.Diagnostics;
using OpenCvSharp;
using Vivify.Evaluation;
using Vivify.Media;

namespace Vivify.Bench;

/// <summary>
/// H.264 encoding alone: the same frames (audrey at a portrait's size, shifted a pixel a frame so that every frame
/// differs) piped to ffmpeg as BGR (ffmpeg converts to yuv420p) and as yuv420p converted here; milliseconds per frame
/// end to end (the writer's Write and Complete), and each file's first frame read back against the frame written (PSNR).
/// </summary>
public static class EncodeFigures
{
    public static void Run()
    {
        var portraitPath = BenchData.Sample("audrey.jpg");
        if (!File.Exists(portraitPath)) { Console.WriteLine("encode: data/samples missing (run scripts/setup.sh)"); return; }
        using var src = Cv2.ImRead(portraitPath);
        foreach (var (w, h, n) in new[] { (1024, 1024, 240), (3000, 4000, 50), (1023, 1025, 60) })
        {
            int scaledH = Math.Max(h, (int)Math.Round((double)src.Height * w / src.Width));
            using var big = src.Resize(new Size(w + 64, scaledH + 64), 0, 0, InterpolationFlags.Area);
            var times = new Dictionary<bool, double>(); var psnr = new Dictionary<bool, double>();
            foreach (var here in new[] { false, true, false, true })
            {
                var outPath = Path.Combine(Path.GetTempPath(), $"vivify-encode-{Environment.ProcessId}.mp4");
                var sw = Stopwatch.StartNew();
                using (var writer = new FfmpegVideoWriter(outPath, w, h, 25, convertHere: here))
                {
                    for (int i = 0; i < n; i++)
                        using (var frame = big[new Rect(i % 64, (i / 2) % 64, w, h)].Clone()) writer.Write(frame);
                    writer.Complete();
                }
                times[here] = Math.Min(times.GetValueOrDefault(here, double.MaxValue), sw.Elapsed.TotalMilliseconds / n);
                using (var reader = new VideoReader(outPath))
                using (var first = reader.Frames().First())
                {
                    if (first.Image.Width < w || first.Image.Height < h) throw new InvalidOperationException("read back smaller than written");
                    using var written = big[new Rect(0, 0, w, h)].Clone();
                    psnr[here] = ImageMetrics.Psnr(first.Image[new Rect(0, 0, w, h)], written); // odd sizes come back padded by a pixel
                }
                File.Delete(outPath);
            }
            Console.WriteLine($"encode {w}x{h}, {n} frames (best of 2): BGR piped, ffmpeg converts {times[false]:0.0} ms/frame ({psnr[false]:0.00} dB read back); " +
                              $"yuv420p converted here {times[true]:0.0} ms/frame ({psnr[true]:0.00} dB) = {times[false] / times[true]:0.00}x");
        }
    }
}
