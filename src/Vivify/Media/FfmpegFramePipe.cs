// FfmpegFramePipe: a video's frames decoded, scaled down and converted to 8-bit BGR by the system's ffmpeg in one
// process, read from its standard output one frame at a time, each with its presentation time.
// Why: OpenCV's bundled decoder is about twice as slow as Debian's ffmpeg on a phone's large H.264 (2880x2160:
// 88 against 51 ms of CPU a frame, single-threaded), and a large driver is analysed scaled down anyway, so ffmpeg
// scales it before the pixels cross the pipe (a ninth of the bytes at a third of the size).
// Requires: ffmpeg on the PATH (TryStart says false where it is not). Guarantees: frames in decoding order with
// ffmpeg's own timestamps passed through (-fps_mode passthrough: none dropped or duplicated), each frame's time read
// from showinfo's pts and time base on ffmpeg's standard error, so frame k's time is known once its pixels are;
// Dispose stops the process if the frames were not all read.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Vivify.Media;

internal sealed partial class FfmpegFramePipe : IDisposable
{
    private readonly Process _process;
    private readonly Stream _frames;
    private readonly BlockingCollection<double> _times = new();
    private readonly Task _errors;
    private double _timeBase = double.NaN;
    public int Width { get; }
    public int Height { get; }
    public int FrameBytes => Width * Height * 3;

    private FfmpegFramePipe(Process process, int width, int height)
    {
        _process = process;
        Width = width; Height = height;
        _frames = process.StandardOutput.BaseStream;
        _errors = Task.Run(ReadErrors);
    }

    /// <summary>Starts ffmpeg on the first video stream of <paramref name="path"/>, its frames scaled to
    /// <paramref name="width"/>x<paramref name="height"/> by area averaging (turned first as the file's rotation tag says,
    /// as OpenCV turns them); null where ffmpeg is not installed.</summary>
    public static FfmpegFramePipe? TryStart(string path, int width, int height)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-hide_banner", "-nostdin", "-nostats", "-v", "info", "-i", "file:" + System.IO.Path.GetFullPath(path), "-map", "0:v:0", "-an", "-sn", "-dn",
            "-fps_mode", "passthrough", "-vf", $"showinfo=checksum=0,scale={width}:{height}:flags=area",
            "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1"])
            psi.ArgumentList.Add(a);
        try { return new FfmpegFramePipe(Process.Start(psi)!, width, height); }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }

    [GeneratedRegex(@"config in time_base: (\d+)/(\d+)")]
    private static partial Regex TimeBaseLine();
    [GeneratedRegex(@"\] n:\s*\d+ pts:\s*(-?\d+)")]
    private static partial Regex FrameLine();

    private void ReadErrors()
    {
        try
        {
            string? line;
            while ((line = _process.StandardError.ReadLine()) is not null)
            {
                if (line.Contains("Parsed_showinfo", StringComparison.Ordinal))
                {
                    if (FrameLine().Match(line) is { Success: true } f)
                        _times.Add(long.TryParse(f.Groups[1].Value, CultureInfo.InvariantCulture, out var pts) && double.IsFinite(_timeBase)
                            ? pts * _timeBase : double.NaN);
                    else if (TimeBaseLine().Match(line) is { Success: true } tb && double.Parse(tb.Groups[2].Value, CultureInfo.InvariantCulture) > 0)
                        _timeBase = double.Parse(tb.Groups[1].Value, CultureInfo.InvariantCulture) / double.Parse(tb.Groups[2].Value, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
        finally { _times.CompleteAdding(); }
    }

    /// <summary>Reads the next frame's pixels into <paramref name="buffer"/> (FrameBytes long) and its presentation time
    /// in seconds (ffmpeg's, from the input's start; NaN where it gives none); false at the end of the video or where
    /// ffmpeg stopped.</summary>
    public bool TryRead(byte[] buffer, out double seconds)
    {
        seconds = double.NaN;
        int n = FrameBytes, got = 0;
        try
        {
            while (got < n)
            {
                int r = _frames.Read(buffer, got, n - got);
                if (r <= 0) return false;
                got += r;
            }
        }
        catch (IOException) { return false; }
        // the frame's showinfo line was written before its pixels; wait for the reader to have parsed it
        if (_times.TryTake(out var t, TimeSpan.FromSeconds(30))) seconds = t;
        return true;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        _process.WaitForExit();
        _errors.Wait(TimeSpan.FromSeconds(5));
        _process.Dispose();
        _times.Dispose();
    }
}
