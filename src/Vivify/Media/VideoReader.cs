// VideoReader: streams a video's frames one at a time (never the whole video in memory).
// Requires: a file OpenCV's FFmpeg backend can open.
// Guarantees: Frames yields 8-bit BGR Mats that the caller owns and must dispose, with their
// index; a video whose first frame cannot be decoded raises a VivifyException naming the file;
// a video that breaks off later simply ends (DecodeStoppedEarly tells).
using OpenCvSharp;

namespace Vivify.Media;

public readonly record struct VideoFrame(int Index, Mat Image) : IDisposable
{
    public void Dispose() => Image.Dispose();
}

public sealed class VideoReader : IDisposable
{
    private readonly VideoCapture _cap;
    public string Path { get; }
    public double Fps { get; }
    public int Width { get; }
    public int Height { get; }
    /// <summary>The frame count in the container (an estimate for some formats; 0 when unknown).</summary>
    public int FrameCountHint { get; }
    public bool DecodeStoppedEarly { get; private set; }

    public VideoReader(string path)
    {
        Path = path;
        _cap = MediaFile.OpenCapture(path);
        double fps = _cap.Fps;
        Fps = fps is > 0 and < 1000 ? fps : 25;
        Width = _cap.FrameWidth; Height = _cap.FrameHeight;
        FrameCountHint = Math.Max(0, _cap.FrameCount);
        if (Width <= 0 || Height <= 0) { _cap.Dispose(); throw new VivifyException(path, "not an image or a video that can be read (no picture found in it)"); }
    }

    /// <summary>The index of the frame shown at <paramref name="seconds"/> (the first frame Frames(seconds) yields).</summary>
    public int FrameIndexAt(double seconds) => (int)Math.Round(seconds * Fps);

    /// <summary>Frames from <paramref name="start"/> seconds for <paramref name="duration"/> seconds (all when null).</summary>
    public IEnumerable<VideoFrame> Frames(double start = 0, double? duration = null)
    {
        int first = FrameIndexAt(start);
        int end = duration is { } d ? first + (int)Math.Round(d * Fps) : int.MaxValue;
        // Frames before the start are decoded and dropped: exact on every container, unlike
        // seeking, and cheap (under a millisecond a frame at driver sizes).
        int yielded = 0;
        for (int i = 0; i < end; i++)
        {
            var m = new Mat();
            bool ok;
            try { ok = _cap.Read(m) && !m.Empty(); }
            catch (OpenCVException) { ok = false; }
            if (!ok)
            {
                m.Dispose();
                if (yielded == 0 && i <= first) throw new VivifyException(Path, first > 0 ? $"no frame could be decoded at {start:0.##} s (the video is {FrameCountHint / Fps:0.##} s long)" : "no frame could be decoded (empty or corrupt video)");
                DecodeStoppedEarly = FrameCountHint > 0 && i < Math.Min(end, FrameCountHint) - 1;
                yield break;
            }
            if (i < first) { m.Dispose(); continue; }
            if (m.Channels() != 3)
            {
                var bgr = new Mat();
                Cv2.CvtColor(m, bgr, m.Channels() == 4 ? ColorConversionCodes.BGRA2BGR : ColorConversionCodes.GRAY2BGR);
                m.Dispose(); m = bgr;
            }
            yielded++;
            yield return new VideoFrame(i, m);
        }
    }

    public void Dispose() => _cap.Dispose();
}
