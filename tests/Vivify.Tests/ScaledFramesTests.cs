using OpenCvSharp;
using Vivify.Media;
using Xunit.Abstractions;

namespace Vivify.Tests;

/// <summary>
/// VideoReader.ScaledFrames reads a large video through the system's ffmpeg (decoded and scaled there) and must give
/// what OpenCV's decoder followed by area averaging gives: the same frames (index and time) and pictures within a
/// stated error, for a constant-rate clip, a variable-rate one (frames dropped in the middle) and one marked to be shown
/// turned (a phone's rotation tag), chosen by index, by time and with frames skipped.
/// </summary>
public class ScaledFramesTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, double, double?, int> Clips() => new()
    {
        // name, ffmpeg options making it from franck 20-23 s, start, duration, skip
        { "constant", "-vf scale=1440:1152:flags=lanczos", 0, null, 0 },
        { "part", "-vf scale=1440:1152:flags=lanczos", 1.25, 1, 5 },
        { "dropped", "-vf \"scale=1440:1152:flags=lanczos,select='not(between(n\\,20\\,40))'\" -fps_mode vfr", 0.5, 2, 0 },
        { "sideways", "-vf scale=1442:1154:flags=lanczos", 0, 1, 0 },
    };

    [Theory]
    [MemberData(nameof(Clips))]
    public void FfmpegsScaledFramesAreOpenCvsScaledDown(string name, string make, double start, double? duration, int skip)
    {
        var dir = CliRunner.TempDir();
        string clip = Path.Combine(dir, name + ".mp4");
        CliRunner.Ffmpeg($"-ss 20 -t 3 -i \"{TestData.Sample("franck.mp4")}\" {make} -an -c:v libx264 -crf 16 -pix_fmt yuv420p \"{clip}\"");
        if (name == "sideways")
        {
            // the rotation tag survives a copy, not an encode
            string plain = clip;
            clip = Path.Combine(dir, "turned.mp4");
            CliRunner.Ffmpeg($"-i \"{plain}\" -c copy -metadata:s:v:0 rotate=90 \"{clip}\"");
        }
        using var viaFfmpeg = new VideoReader(clip);
        using var viaOpenCv = new VideoReader(clip);
        var size = viaFfmpeg.ScaledSize(2);
        if (name == "sideways") Assert.Equal((1154, 1442), (viaFfmpeg.Width, viaFfmpeg.Height));
        Assert.Equal(new Size((int)Math.Round(viaFfmpeg.Width / 2.0), (int)Math.Round(viaFfmpeg.Height / 2.0)), size);
        int n = 0, identical = 0;
        double worst = double.PositiveInfinity;
        using var small = new Mat();
        foreach (var (a, b) in viaFfmpeg.ScaledFrames(2, start, duration, skip).Zip(viaOpenCv.Frames(start, duration, skip)))
        {
            using (a) using (b)
            {
                Assert.Equal(b.Index, a.Index);
                Assert.True(Math.Abs(a.Seconds - b.Seconds) < 1e-4, $"frame {a.Index}: {a.Seconds:0.0000} s against OpenCV's {b.Seconds:0.0000} s");
                Assert.Equal(size, a.Image.Size());
                Cv2.Resize(b.Image, small, size, 0, 0, InterpolationFlags.Area);
                double psnr = Cv2.PSNR(a.Image, small);
                if (double.IsInfinity(psnr) || psnr > 99) identical++;
                worst = Math.Min(worst, psnr);
                n++;
            }
        }
        int expected;
        using (var again = new VideoReader(clip)) expected = again.Frames(start, duration, skip).Select(f => { f.Dispose(); return 1; }).Sum();
        output.WriteLine($"{name}: {viaFfmpeg.Width}x{viaFfmpeg.Height} -> {size.Width}x{size.Height}, {n} frames from {start} s, worst PSNR against OpenCV + area {worst:0.0} dB, {identical} identical");
        Assert.True(n > 10, $"only {n} frames");
        Assert.Equal(expected, n);
        // close (the two scalers round differently), and not the same bytes: the frames did come through ffmpeg
        Assert.True(worst > 38, $"worst frame {worst:0.0} dB");
        Assert.True(identical < n, "every frame identical to OpenCV's: ffmpeg was not used");
    }
}
