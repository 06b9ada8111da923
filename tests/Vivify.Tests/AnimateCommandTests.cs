using OpenCvSharp;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class AnimateCommandTests(ITestOutputHelper output)
{
    /// <summary>A one-second real driver clip (franck.mp4 from 20 s), made once.</summary>
    private static readonly Lazy<string> Driver = new(() =>
    {
        var clip = Path.Combine(CliRunner.TempDir(), "driver.mp4");
        LandmarksCommandTests.MakeClip(TestData.Sample("franck.mp4"), clip, 20, 1);
        return clip;
    });

    private static string Portrait => TestData.Golden("images/cage.png");

    [Theory]
    [InlineData("out.mp4")]
    [InlineData("out.gif")]
    [InlineData("out.webp")]
    [InlineData("frames/")]
    public void WritesEveryFormatAtThePortraitsResolutionAndTheDriversRate(string name)
    {
        var dir = CliRunner.TempDir();
        var target = Path.Combine(dir, name);
        var r = CliRunner.Run("animate", "--portrait", Portrait, "--driver", Driver.Value, "-o", target, "--quiet");
        output.WriteLine(r.StdErr);
        Assert.True(r.ExitCode == 0, r.StdErr);
        if (name.EndsWith('/'))
        {
            var files = Directory.GetFiles(target, "*.png").Order().ToArray();
            Assert.Equal(24, files.Length);
            using var f = Cv2.ImRead(files[0]);
            Assert.Equal(new Size(500, 614), f.Size());
        }
        else if (name.EndsWith(".webp"))
        {
            // ffmpeg cannot decode animated WebP; read its container: VP8X canvas size and ANMF frames
            var b = File.ReadAllBytes(target);
            Assert.Equal("WEBP", System.Text.Encoding.ASCII.GetString(b, 8, 4));
            Assert.Equal("VP8X", System.Text.Encoding.ASCII.GetString(b, 12, 4));
            int w = 1 + (b[24] | b[25] << 8 | b[26] << 16), h = 1 + (b[27] | b[28] << 8 | b[29] << 16);
            Assert.Equal((500, 614), (w, h));
            int frames = 0;
            for (int i = 30; i + 4 <= b.Length; i++) if (b[i] == 'A' && b[i + 1] == 'N' && b[i + 2] == 'M' && b[i + 3] == 'F') frames++;
            Assert.Equal(24, frames);
        }
        else
        {
            var probe = Probe(target);
            output.WriteLine(probe);
            Assert.Contains("500,614", probe);
            if (name.EndsWith(".mp4")) Assert.Contains("h264,500,614,yuv420p", probe);
            if (name.EndsWith(".mp4")) Assert.Contains("24/1", probe);
        }
        Assert.Empty(Directory.GetFileSystemEntries(dir, "*partial*"));
    }

    private static string Probe(string file)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("ffprobe", $"-v error -select_streams v:0 -show_entries stream=codec_name,width,height,pix_fmt,r_frame_rate -of csv=p=0 \"{file}\"") { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var s = p.StandardOutput.ReadToEnd(); p.WaitForExit();
        return s.Trim();
    }

    public static TheoryData<string, string> BadCases() => new()
    {
        { "portrait-without-face", "no face found in the portrait" },
        { "portrait-is-video", "the portrait must be an image" },
        { "driver-is-image", "the driver must be a video" },
        { "driver-without-face", "no face found in any of its" },
        { "portrait-too-large", "megapixels, above the limit" },
        { "face-too-small", "too small to animate" },
        { "bad-extension", "unsupported output format" },
        { "missing-folder", "output folder does not exist" },
        { "bad-details-strength", "--details-strength must be between 0 and 4" },
    };

    [Theory]
    [MemberData(nameof(BadCases))]
    public void BadInputGetsOneClearLineAndNoOutput(string kind, string expected)
    {
        var dir = CliRunner.TempDir();
        string portrait = Portrait, driver = Driver.Value, target = Path.Combine(dir, "out.mp4");
        var extra = new List<string>();
        switch (kind)
        {
            case "portrait-without-face":
                portrait = CliRunner.NoFaceImage(dir);
                break;
            case "portrait-is-video": portrait = driver; break;
            case "driver-is-image": driver = Portrait; break;
            case "driver-without-face":
                driver = CliRunner.NoFaceClip(dir);
                break;
            case "portrait-too-large": extra.AddRange(["--max-pixels", "100000"]); break;
            case "face-too-small":
                portrait = Path.Combine(dir, "tiny.png");
                using (var big = Cv2.ImRead(Portrait)) using (var small = big.Resize(new Size(0, 0), 0.12, 0.12, InterpolationFlags.Area))
                using (var canvas = new Mat(400, 400, MatType.CV_8UC3, new Scalar(128, 128, 128)))
                {
                    small.CopyTo(new Mat(canvas, new Rect(150, 150, small.Width, small.Height)));
                    Cv2.ImWrite(portrait, canvas);
                }
                break;
            case "bad-extension": target = Path.Combine(dir, "out.avi"); break;
            case "missing-folder": target = Path.Combine(dir, "nope", "out.mp4"); break;
            case "bad-details-strength": extra.AddRange(["--details-strength", "-1"]); break;
        }
        var r = CliRunner.Run(["animate", "--portrait", portrait, "--driver", driver, "-o", target, "--quiet", .. extra]);
        output.WriteLine(r.StdErr);
        CliRunner.AssertCleanFailure(r, expected, dir, target);
    }
}
