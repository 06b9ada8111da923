// VideoReader: streams a video's frames one at a time (never the whole video in memory).
// Requires: a file OpenCV's FFmpeg backend can open.
// Guarantees: Frames yields 8-bit BGR Mats that the caller owns and must dispose, with their
// index and their time (from the container's timestamps: a variable-rate phone clip's frames
// keep their own times; i / Fps where the container has none); a part of the video is chosen by
// those times; a video whose first frame cannot be decoded raises a VivifyException naming the
// file; a video that breaks off later simply ends (DecodeStoppedEarly tells). An animated GIF's frames are
// palette images, often dithered: each is smoothed lightly as read (DitherSmoothingSigma), the same for every reader.
// ScaledFrames gives the same frames scaled down by a whole factor; a large video's come from the system's ffmpeg
// (FfmpegFramePipe: decoded and scaled in its process, about twice as fast as OpenCV's bundled decoder on a phone's
// 4K clip), within 38 dB PSNR of OpenCV's decoded and area-averaged frames, with the same indices and times.
using OpenCvSharp;

namespace Vivify.Media;

/// <summary>A decoded frame: its index in the video, its picture, and when it shows (seconds from the video's first picture).</summary>
public readonly record struct VideoFrame(int Index, Mat Image, double Seconds = 0) : IDisposable
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
    /// <summary>Whether the file is a GIF, whose frames are smoothed as read.</summary>
    public bool IsGif { get; }

    /// <summary>Gaussian sigma (pixels) a GIF's frames are smoothed by. Palette dithering lays a pixel-scale pattern
    /// over flat areas, in which the face cascades found faces: cap12_edit 0-2 s as a 200x150 GIF (ffmpeg's default
    /// palette, dithered) had its first frame's largest "face" on the plain wall above the head, which the animation
    /// followed for 40 frames before the real face was found; smoothed by 0.7, the one face found is the real one, as
    /// on the MP4 of the same size. Motion, the mouth's interior and the details lose nothing they need.</summary>
    public const double DitherSmoothingSigma = 0.7;

    public VideoReader(string path)
    {
        Path = path;
        _cap = MediaFile.OpenCapture(path);
        double fps = _cap.Fps;
        Fps = fps is > 0 and < 1000 ? fps : 25;
        Width = _cap.FrameWidth; Height = _cap.FrameHeight;
        FrameCountHint = Math.Max(0, _cap.FrameCount);
        IsGif = MediaFile.GifFrames(path, 1) > 0;
        if (Width <= 0 || Height <= 0) { _cap.Dispose(); throw new VivifyException(path, "not an image or a video that can be read (no picture found in it)"); }
    }

    /// <summary>
    /// Frames from <paramref name="start"/> seconds for <paramref name="duration"/> seconds (to the end when null). A
    /// frame that shows on the announced rate's grid (within a quarter frame of index / Fps: every frame of a
    /// constant-rate clip) is chosen by its index: round(start * Fps) onwards, round(duration * Fps) of them. Any other
    /// (a variable-rate clip's) by its time: in [start, start + duration), both ends taken half a frame early. The
    /// first <paramref name="skip"/> frames of the part are passed over as the ones before it are: decoded (every
    /// frame is, exact on every container, unlike seeking) but not converted to pictures.
    /// </summary>
    public IEnumerable<VideoFrame> Frames(double start = 0, double? duration = null, int skip = 0) =>
        Select(new CaptureSource(this, null), start, duration, skip);

    /// <summary>
    /// The frames <see cref="Frames"/> gives, scaled down by the whole <paramref name="factor"/> (area averaging) to
    /// ScaledSize(factor). Where the factor is above 1 and the file is not a GIF, the system's ffmpeg decodes and scales
    /// them in its own process (a large phone clip decodes about twice as fast there as in OpenCV's bundled decoder);
    /// otherwise OpenCV decodes and scales them. Each call reads the file afresh.
    /// </summary>
    public IEnumerable<VideoFrame> ScaledFrames(int factor, double start = 0, double? duration = null, int skip = 0)
    {
        // an iterator, so that ffmpeg starts when the frames are first asked for and stops when their enumerator is disposed
        var size = ScaledSize(factor);
        IFrameSource source = factor > 1 && !IsGif && FfmpegFramePipe.TryStart(Path, size.Width, size.Height) is { } pipe
            ? new PipeSource(pipe) : new CaptureSource(this, factor > 1 ? size : null);
        foreach (var vf in Select(source, start, duration, skip)) yield return vf;
    }

    /// <summary>The frame size ScaledFrames gives for <paramref name="factor"/>: the video's over the factor, rounded.</summary>
    public Size ScaledSize(int factor) => factor <= 1 ? new Size(Width, Height)
        : new Size(Math.Max(1, (int)Math.Round((double)Width / factor)), Math.Max(1, (int)Math.Round((double)Height / factor)));

    /// <summary>Where frames come from: Grab decodes the next one (false at the end), Seconds is its time (NaN where
    /// unknown), Retrieve makes its picture (null where it cannot).</summary>
    private interface IFrameSource : IDisposable
    {
        bool Grab();
        double Seconds { get; }
        Mat? Retrieve();
    }

    /// <summary>OpenCV's capture, the picture scaled to <c>size</c> where one is given.</summary>
    private sealed class CaptureSource(VideoReader reader, Size? size) : IFrameSource
    {
        public bool Grab()
        {
            try { return reader._cap.Grab(); }
            catch (OpenCVException) { return false; }
        }
        public double Seconds => reader._cap.Get(VideoCaptureProperties.PosMsec) / 1000;
        public Mat? Retrieve()
        {
            var m = new Mat();
            bool ok;
            try { ok = reader._cap.Retrieve(m) && !m.Empty(); }
            catch (OpenCVException) { ok = false; }
            if (!ok) { m.Dispose(); return null; }
            if (m.Channels() != 3)
            {
                var bgr = new Mat();
                Cv2.CvtColor(m, bgr, m.Channels() == 4 ? ColorConversionCodes.BGRA2BGR : ColorConversionCodes.GRAY2BGR);
                m.Dispose(); m = bgr;
            }
            if (reader.IsGif) Cv2.GaussianBlur(m, m, new Size(0, 0), DitherSmoothingSigma);
            if (size is { } s && s != m.Size())
            {
                var small = new Mat();
                Cv2.Resize(m, small, s, 0, 0, InterpolationFlags.Area);
                m.Dispose(); m = small;
            }
            return m;
        }
        public void Dispose() { }
    }

    /// <summary>ffmpeg's decoded and scaled frames; times from the first frame's.</summary>
    private sealed class PipeSource(FfmpegFramePipe pipe) : IFrameSource
    {
        private readonly byte[] _buffer = new byte[pipe.FrameBytes];
        private double _first = double.NaN;
        public double Seconds { get; private set; }
        public bool Grab()
        {
            if (!pipe.TryRead(_buffer, out var t)) return false;
            if (double.IsNaN(_first)) _first = t;
            Seconds = t - _first;
            return true;
        }
        public Mat? Retrieve()
        {
            var m = new Mat(pipe.Height, pipe.Width, MatType.CV_8UC3);
            System.Runtime.InteropServices.Marshal.Copy(_buffer, 0, m.Data, _buffer.Length);
            return m;
        }
        public void Dispose() => pipe.Dispose();
    }

    private IEnumerable<VideoFrame> Select(IFrameSource source, double start, double? duration, int skip)
    {
        using var _ = source;
        int first = (int)Math.Round(start * Fps);
        long end = duration is { } d ? first + (long)Math.Round(d * Fps) : long.MaxValue;
        double half = 0.5 / Fps, from = start - half, to = duration is { } d2 ? start + d2 - half : double.PositiveInfinity;
        // Frames before the start are decoded and dropped: exact on every container, unlike
        // seeking, and cheap (under a millisecond a frame at driver sizes; grabbed, not retrieved).
        int yielded = 0, inPart = 0;
        double previous = double.NegativeInfinity;
        VivifyException NoFrame() => new(Path, start > half
            ? $"no frame could be decoded at {start:0.##} s (the video is {FrameCountHint / Fps:0.##} s long)"
            : "no frame could be decoded (empty or corrupt video)");
        for (int i = 0; ; i++)
        {
            if (!source.Grab())
            {
                if (yielded == 0 && inPart == 0) throw NoFrame();
                DecodeStoppedEarly = FrameCountHint > 0 && i < FrameCountHint - 1;
                yield break;
            }
            // the container's time for this frame; where it gives none (or a time that does not advance), one frame on
            double t = source.Seconds;
            if (!(t > previous)) t = i == 0 ? 0 : previous + 1 / Fps;
            previous = t;
            bool onGrid = Math.Abs(t - i / Fps) <= 0.25 / Fps;
            if (onGrid ? i < first : t < from) continue;
            if (onGrid ? i >= end : t >= to) yield break;
            if (inPart++ < skip) continue;
            var m = source.Retrieve();
            if (m is null)
            {
                if (yielded == 0) throw NoFrame();
                DecodeStoppedEarly = FrameCountHint > 0 && i < FrameCountHint - 1;
                yield break;
            }
            yielded++;
            yield return new VideoFrame(i, m, t);
        }
    }

    public void Dispose() => _cap.Dispose();
}
