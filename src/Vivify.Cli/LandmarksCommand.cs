// `vivify landmarks INPUT [--box l,t,r,b] [--json OUT] [--overlay OUT.png|OUT.mp4]`:
// 68 landmarks on an image (every face, largest first) or on every frame of a video (one face,
// tracked and smoothed). JSON: one object per image or frame, one per line.
using System.CommandLine;
using System.Text.Json;
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;

namespace Vivify.Cli;

internal static class LandmarksCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("INPUT") { Description = "An image (JPEG, PNG, ...) or a video (MP4, WebM, ...)." };
        var box = new Option<string?>("--box") { Description = "Skip detection: predict on this face box 'left,top,right,bottom' (dlib's convention, inclusive). On a video, the box of the first frame." };
        var json = new Option<string?>("--json") { Description = "Write the landmarks here (JSON, one object per image or frame, one per line) instead of standard output." };
        var overlay = new Option<string?>("--overlay") { Description = "Draw points and boxes: OUT.png for an image, OUT.mp4 (or .gif/.webp) for a video." };
        var noSmoothing = new Option<bool>("--no-smoothing") { Description = "Video: raw per-frame predictions, without temporal smoothing." };
        var maxPixels = new Option<long>("--max-pixels") { Description = "Refuse images larger than this many pixels.", DefaultValueFactory = _ => MediaFile.DefaultMaxPixels };
        var cmd = new Command("landmarks", "Find the 68 facial landmarks on an image or through a video.") { input, box, json, overlay, noSmoothing, maxPixels };
        cmd.SetAction(r => Run(r.GetValue(input)!, r.GetValue(box), r.GetValue(json), r.GetValue(overlay), r.GetValue(noSmoothing), r.GetValue(maxPixels)));
        return cmd;
    }

    private static int Run(string input, string? boxText, string? jsonPath, string? overlayPath, bool noSmoothing, long maxPixels)
    {
        FaceBox? box = null;
        if (boxText is not null)
        {
            try { box = FaceBox.Parse(boxText); }
            catch (FormatException e) { throw new VivifyException(null, $"--box: {e.Message}"); }
        }
        var kind = MediaFile.Probe(input);
        if (overlayPath is not null) CheckOutputPath(overlayPath, kind == MediaKind.Image ? [".png", ".jpg", ".jpeg", ".webp", ".bmp"] : FfmpegVideoWriter.Extensions);
        if (jsonPath is not null) CheckOutputPath(jsonPath, null);
        using var output = new AtomicOutput(jsonPath);
        int code = kind == MediaKind.Image
            ? RunImage(input, box, output.Writer, overlayPath, maxPixels)
            : RunVideo(input, box, output.Writer, overlayPath, !noSmoothing);
        if (code == 0) output.Commit();
        return code;
    }

    private static int RunImage(string input, FaceBox? box, TextWriter json, string? overlayPath, long maxPixels)
    {
        using var image = MediaFile.LoadImage(input, maxPixels);
        var intensity = IntensityImage.FromMat(image);
        IReadOnlyList<Face> faces;
        if (box is { } b) faces = [new Face(b, ShapePredictor.Default.Predict(intensity, b))];
        else
        {
            using var detector = new FaceDetector();
            faces = detector.Detect(image, intensity);
        }
        if (faces.Count == 0) throw new VivifyException(input, "no face found");
        WriteRecord(json, input, null, image.Width, image.Height, faces.Select(f => (f.Box, f.Landmarks, (string?)null)));
        if (overlayPath is not null)
        {
            foreach (var f in faces) LandmarkOverlay.Draw(image, f);
            WriteImageAtomically(overlayPath, image);
        }
        if (faces.Count > 1) Console.Error.WriteLine($"vivify: {input}: {faces.Count} faces found, largest first");
        return 0;
    }

    private static int RunVideo(string input, FaceBox? box, TextWriter json, string? overlayPath, bool smooth)
    {
        using var reader = new VideoReader(input);
        using var detector = new FaceDetector();
        var tracker = new FaceTracker(detector, reader.Fps, new FaceTrackerOptions { Smooth = smooth, FirstBox = box });
        FfmpegVideoWriter? writer = overlayPath is null ? null : new FfmpegVideoWriter(overlayPath, reader.Width, reader.Height, reader.Fps);
        try
        {
            int n = 0;
            foreach (var tf in tracker.Track(reader.Frames()))
            {
                using (tf)
                {
                    var faces = tf.Landmarks is null ? [] : new[] { (tf.Box!.Value, tf.Landmarks, (string?)tf.Status.ToString().ToLowerInvariant()) };
                    WriteRecord(json, input, tf.Index, tf.Image.Width, tf.Image.Height, faces);
                    if (writer is not null)
                    {
                        if (tf.Landmarks is not null)
                            LandmarkOverlay.Draw(tf.Image, tf.Box, tf.Landmarks, tf.Status == TrackStatus.Bridged ? new Scalar(0, 165, 255) : null);
                        writer.Write(tf.Image);
                    }
                    n++;
                }
            }
            if (tracker.DetectedFrames + tracker.TrackedFrames == 0) throw new VivifyException(input, $"no face found in any of its {n} frames");
            writer?.Complete();
            var bridged = tracker.BridgedFrames;
            Console.Error.WriteLine($"vivify: {input}: {n} frames, face found on {n - bridged - tracker.MissingFrames}" +
                (bridged > 0 ? $", {bridged} frames without a face bridged from their neighbours" : "") +
                (tracker.LossCount > 0 ? $", tracking lost and re-detected {tracker.LossCount} times" : "") +
                (reader.DecodeStoppedEarly ? "; the video broke off before its announced end" : ""));
            return 0;
        }
        finally { writer?.Dispose(); }
    }

    internal static void WriteRecord(TextWriter w, string file, int? frame, int width, int height, IEnumerable<(FaceBox Box, PointD[] Landmarks, string? Status)> faces)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms))
        {
            j.WriteStartObject();
            j.WriteString("file", file);
            if (frame is { } f) j.WriteNumber("frame", f);
            j.WriteNumber("width", width);
            j.WriteNumber("height", height);
            j.WriteStartArray("faces");
            foreach (var (b, pts, status) in faces)
            {
                j.WriteStartObject();
                j.WriteStartArray("box"); j.WriteNumberValue(b.Left); j.WriteNumberValue(b.Top); j.WriteNumberValue(b.Right); j.WriteNumberValue(b.Bottom); j.WriteEndArray();
                j.WriteStartArray("landmarks");
                foreach (var p in pts)
                {
                    j.WriteStartArray();
                    j.WriteNumberValue(Math.Round(p.X, 3)); j.WriteNumberValue(Math.Round(p.Y, 3));
                    j.WriteEndArray();
                }
                j.WriteEndArray();
                if (status is not null) j.WriteString("status", status);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        w.WriteLine(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }

    internal static void CheckOutputPath(string path, string[]? extensions)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (extensions is not null && !extensions.Contains(ext))
            throw new VivifyException(path, $"unsupported output format '{ext}' (use {string.Join(", ", extensions)})");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) throw new VivifyException(path, "output folder does not exist");
        if (Directory.Exists(path)) throw new VivifyException(path, "is a folder, not a file");
    }

    internal static void WriteImageAtomically(string path, Mat image)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileNameWithoutExtension(full)}.partial-{Environment.ProcessId}{Path.GetExtension(full)}");
        try
        {
            if (!Cv2.ImWrite(tmp, image)) throw new VivifyException(path, "could not be written");
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException or OpenCVException)
        {
            throw new VivifyException(path, $"could not be written: {e.Message}");
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }
}
