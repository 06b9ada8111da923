using OpenCvSharp;
using Vivify.Evaluation;
using Vivify.Media;
using Xunit.Abstractions;

namespace Vivify.Tests;

/// <summary>
/// The MP4 writer converts frames to yuv420p itself. Read back (OpenCV's FFmpeg decoder), an odd-sized portrait
/// (audrey.png cut to 539x719) must come back at least padded to even sizes, as close to what was written as when
/// ffmpeg converts (PSNR no more than 0.5 dB lower, over 35 dB), and with the same colours: each channel's mean no
/// further from the original's than with ffmpeg's conversion (plus 0.5 grey levels) and within 2.5 (a full-range or
/// BT.709 matrix would shift them by several; measured 41.8 dB and 0.9-1.8 levels here, 38.8 dB and 1.0-3.1 by ffmpeg).
/// </summary>
public class FfmpegVideoWriterTests(ITestOutputHelper output)
{
    [Fact]
    public void Yuv420ConvertedHereReadsBackAsWritten()
    {
        using var full = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        using var image = full[new Rect(0, 0, 539, 719)].Clone();
        var dir = CliRunner.TempDir();
        var read = new Dictionary<bool, (double Psnr, Scalar Mean)>();
        foreach (var here in new[] { true, false })
        {
            var path = Path.Combine(dir, $"here-{here}.mp4");
            using (var writer = new FfmpegVideoWriter(path, image.Width, image.Height, 25, convertHere: here))
            {
                for (int i = 0; i < 5; i++) writer.Write(image);
                writer.Complete();
            }
            using var reader = new VideoReader(path);
            using var first = reader.Frames().First();
            Assert.True(first.Image.Width >= 539 && first.Image.Height >= 719, $"read back {first.Image.Width}x{first.Image.Height}");
            using var back = first.Image[new Rect(0, 0, 539, 719)].Clone();
            read[here] = (ImageMetrics.Psnr(back, image), Cv2.Mean(back));
        }
        var m = Cv2.Mean(image);
        output.WriteLine($"original mean BGR {m.Val0:0.00} {m.Val1:0.00} {m.Val2:0.00}");
        foreach (var (here, (psnr, mean)) in read)
            output.WriteLine($"{(here ? "converted here" : "ffmpeg converts")}: {psnr:0.00} dB, mean BGR {mean.Val0:0.00} {mean.Val1:0.00} {mean.Val2:0.00}");
        Assert.True(read[true].Psnr > 35, $"read back at {read[true].Psnr:0.00} dB");
        Assert.True(read[true].Psnr > read[false].Psnr - 0.5, $"{read[true].Psnr:0.00} dB against ffmpeg's conversion's {read[false].Psnr:0.00}");
        for (int c = 0; c < 3; c++)
        {
            double ours = Math.Abs(read[true].Mean[c] - m[c]), ffmpegs = Math.Abs(read[false].Mean[c] - m[c]);
            Assert.True(ours < 2.5 && ours < ffmpegs + 0.5, $"channel {c}: mean {read[true].Mean[c]:0.00} against {m[c]:0.00} (ffmpeg's conversion {read[false].Mean[c]:0.00})");
        }
    }
}
