using System.Diagnostics;

namespace Vivify.Tests;

/// <summary>Runs the vivify CLI (the built Vivify.Cli.dll beside the tests) as a user would.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Result Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = TestData.RepoRoot,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Vivify.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OPENCV_LOG_LEVEL"] = "ERROR";
        psi.Environment["OPENCV_FFMPEG_LOGLEVEL"] = "-8";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(300_000)) { p.Kill(true); throw new TimeoutException($"vivify {string.Join(' ', args)} hung"); }
        return new Result(p.ExitCode, output, err.Result);
    }

    /// <summary>
    /// A failed run as users must see it: a non-zero exit, one line on standard error containing
    /// <paramref name="expected"/>, no stack trace, none of <paramref name="outputs"/> written and no
    /// temporary file (hidden or "partial") left in <paramref name="dir"/>. Returns that line.
    /// </summary>
    public static string AssertCleanFailure(Result r, string expected, string dir, params string[] outputs)
    {
        Xunit.Assert.NotEqual(0, r.ExitCode);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Xunit.Assert.Single(lines);
        Xunit.Assert.Contains(expected, lines[0]);
        Xunit.Assert.DoesNotContain("   at ", r.StdErr);
        foreach (var o in outputs) Xunit.Assert.False(File.Exists(o), $"{o} was left behind");
        Xunit.Assert.Empty(Directory.GetFiles(dir, ".*"));
        Xunit.Assert.Empty(Directory.GetFileSystemEntries(dir, "*partial*"));
        return lines[0];
    }

    /// <summary>Runs ffmpeg (installed by set-up) and asserts it succeeded.</summary>
    public static void Ffmpeg(string args)
    {
        using var p = Process.Start(new ProcessStartInfo("ffmpeg", "-loglevel error -y " + args) { UseShellExecute = false })!;
        p.WaitForExit();
        Xunit.Assert.Equal(0, p.ExitCode);
    }

    /// <summary>A HEIC of <paramref name="input"/> made by libheif's encoder (Debian's libheif-examples, which the set-up installs).</summary>
    public static void HeifEnc(string input, string output, int quality)
    {
        using var p = Process.Start(new ProcessStartInfo("heif-enc") { ArgumentList = { "-q", $"{quality}", input, "-o", output }, RedirectStandardOutput = true, UseShellExecute = false })!;
        p.StandardOutput.ReadToEnd(); p.WaitForExit();
        Xunit.Assert.Equal(0, p.ExitCode);
    }

    /// <summary>A one-second, 10-frame video of a test pattern: a video without a face.</summary>
    public static string NoFaceClip(string dir)
    {
        var clip = Path.Combine(dir, "noface.mp4");
        Ffmpeg($"-f lavfi -i testsrc=size=320x240:rate=10 -t 1 -pix_fmt yuv420p \"{clip}\"");
        return clip;
    }

    /// <summary>A plain painted wall (300x300 PNG): an image without a face.</summary>
    public static string NoFaceImage(string dir)
    {
        var path = Path.Combine(dir, "wall.png");
        using var m = new OpenCvSharp.Mat(300, 300, OpenCvSharp.MatType.CV_8UC3, new OpenCvSharp.Scalar(200, 190, 180));
        OpenCvSharp.Cv2.ImWrite(path, m);
        return path;
    }

    /// <summary>A fresh empty folder for a test's outputs.</summary>
    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "vivify-tests", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }
}
