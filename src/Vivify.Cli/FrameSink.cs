// FrameSink: where animated frames go: an ffmpeg-encoded file (.mp4, .gif, .webp) or a folder
// of numbered PNGs. Both are written under a temporary name and moved into place on Complete(),
// so a failed run leaves nothing half-written.
using OpenCvSharp;
using Vivify;
using Vivify.Media;

namespace Vivify.Cli;

internal interface IFrameWriter : IDisposable
{
    void Write(Mat frame);
    void Complete();
}

internal static class FrameSink
{
    public enum Kind { Video, PngFolder }

    /// <summary>Checks the output path before any work starts.</summary>
    public static Kind Check(string path)
    {
        bool folder = path.EndsWith('/') || Directory.Exists(path) || Path.GetExtension(path) == "";
        var full = Path.GetFullPath(path.TrimEnd('/'));
        var parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) throw new VivifyException(path, "output folder does not exist");
        if (folder)
        {
            if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
                throw new VivifyException(path, "output folder is not empty");
            return Kind.PngFolder;
        }
        var ext = Path.GetExtension(full).ToLowerInvariant();
        if (!FfmpegVideoWriter.Extensions.Contains(ext))
            throw new VivifyException(path, $"unsupported output format '{ext}' (use .mp4, .gif, .webp, or a folder ending in / for PNG frames)");
        if (!CanWrite(parent)) throw new VivifyException(path, "output folder is not writable");
        return Kind.Video;
    }

    private static bool CanWrite(string dir)
    {
        try { var p = Path.Combine(dir, $".vivify-write-test-{Environment.ProcessId}"); File.WriteAllBytes(p, []); File.Delete(p); return true; }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return false; }
    }

    public static IFrameWriter Open(string path, Kind kind, int width, int height, double fps, AudioTrack? audio = null) =>
        kind == Kind.Video ? new VideoFileWriter(new FfmpegVideoWriter(path, width, height, fps, audio)) : new PngFolderWriter(path);

    private sealed class VideoFileWriter(FfmpegVideoWriter w) : IFrameWriter
    {
        public void Write(Mat frame) => w.Write(frame);
        public void Complete() => w.Complete();
        public void Dispose() => w.Dispose();
    }

    private sealed class PngFolderWriter : IFrameWriter
    {
        private readonly string _target, _temp;
        private int _n;
        private bool _done;

        public PngFolderWriter(string path)
        {
            _target = Path.GetFullPath(path.TrimEnd('/'));
            _temp = _target + $".partial-{Environment.ProcessId}";
            Directory.CreateDirectory(_temp);
        }

        public void Write(Mat frame)
        {
            if (!Cv2.ImWrite(Path.Combine(_temp, $"frame_{_n++:D5}.png"), frame, [new ImageEncodingParam(ImwriteFlags.PngCompression, 1)]))
                throw new VivifyException(_target, "frame could not be written");
        }

        public void Complete()
        {
            if (Directory.Exists(_target)) Directory.Delete(_target);
            Directory.Move(_temp, _target);
            _done = true;
        }

        public void Dispose()
        {
            if (!_done && Directory.Exists(_temp)) Directory.Delete(_temp, true);
        }
    }
}
