// MediaFile: opens the user's images and videos with clear errors.
// Requires: OpenCV (OpenCvSharp) with its FFmpeg video backend.
// Guarantees: every failure is a VivifyException naming the file and the problem (missing, empty,
// not an image or video, no decodable frame, too many pixels); images come back as 8-bit BGR.
using OpenCvSharp;

namespace Vivify.Media;

public enum MediaKind { Image, Video }

public static class MediaFile
{
    /// <summary>Default largest image accepted, in pixels (about 100 megapixels: ~300 MB as BGR).</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>Tells an image from a video by content, not by extension.</summary>
    public static MediaKind Probe(string path)
    {
        CheckReadable(path);
        if (Cv2.HaveImageReader(path)) return MediaKind.Image;
        using var cap = OpenCapture(path);
        if (cap.FrameWidth <= 0 || cap.FrameHeight <= 0) throw new VivifyException(path, "not an image or a video that can be read (no picture found in it)");
        return MediaKind.Video;
    }

    public static Mat LoadImage(string path, long maxPixels = DefaultMaxPixels)
    {
        CheckReadable(path);
        if (!Cv2.HaveImageReader(path)) throw new VivifyException(path, "not an image format that can be read (use JPEG, PNG, WebP, BMP or TIFF)");
        var (w, h) = ImageSize(path);
        if (w > 0 && (long)w * h > maxPixels)
            throw new VivifyException(path, $"image is about {w}x{h} = {(long)w * h / 1e6:0.#} megapixels, above the limit of {maxPixels / 1e6:0.#} megapixels (raise it with --max-pixels)");
        var m = Cv2.ImRead(path, ImreadModes.Color);
        if (m.Empty()) { m.Dispose(); throw new VivifyException(path, "image could not be decoded (corrupt or truncated file)"); }
        if ((long)m.Width * m.Height > maxPixels)
        {
            var msg = $"image is {m.Width}x{m.Height}, above the limit of {maxPixels / 1e6:0.#} megapixels (raise it with --max-pixels)";
            m.Dispose();
            throw new VivifyException(path, msg);
        }
        return m;
    }

    /// <summary>Reads the pixel size from the header without decoding (0,0 when unknown).</summary>
    private static (int W, int H) ImageSize(string path)
    {
        try
        {
            // IMREAD_REDUCED_GRAYSCALE_8 decodes at 1/8 size: cheap, and the size scales back.
            using var m = Cv2.ImRead(path, ImreadModes.ReducedGrayscale8);
            return m.Empty() ? (0, 0) : (m.Width * 8, m.Height * 8);
        }
        catch (OpenCVException) { return (0, 0); }
    }

    internal static VideoCapture OpenCapture(string path)
    {
        CheckReadable(path);
        var cap = new VideoCapture(path, VideoCaptureAPIs.FFMPEG);
        if (!cap.IsOpened())
        {
            cap.Dispose();
            throw new VivifyException(path, "not an image or a video that can be read");
        }
        return cap;
    }

    private static void CheckReadable(string path)
    {
        if (Directory.Exists(path)) throw new VivifyException(path, "is a folder, not a file");
        if (!File.Exists(path)) throw new VivifyException(path, "file not found");
        if (new FileInfo(path).Length == 0) throw new VivifyException(path, "file is empty");
    }
}
