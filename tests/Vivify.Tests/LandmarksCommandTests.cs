using System.Text.Json;
using OpenCvSharp;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class LandmarksCommandTests(ITestOutputHelper output)
{
    [Fact]
    public void ImageGivesJsonAndOverlay()
    {
        var dir = CliRunner.TempDir();
        var json = Path.Combine(dir, "audrey.json");
        var png = Path.Combine(dir, "audrey.png");
        var r = CliRunner.Run("landmarks", TestData.Golden("images/audrey.png"), "--json", json, "--overlay", png);
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal(540, root.GetProperty("width").GetInt32());
        Assert.Equal(720, root.GetProperty("height").GetInt32());
        var face = root.GetProperty("faces")[0];
        Assert.Equal(4, face.GetProperty("box").GetArrayLength());
        Assert.Equal(68, face.GetProperty("landmarks").GetArrayLength());
        // the overlay is the image with the points drawn: same size, different pixels near the face
        using var overlay = Cv2.ImRead(png);
        using var original = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        Assert.Equal(original.Size(), overlay.Size());
        using var diff = new Mat();
        Cv2.Absdiff(overlay, original, diff);
        Assert.True(Cv2.CountNonZero(diff.CvtColor(ColorConversionCodes.BGR2GRAY)) > 500);
        Assert.Empty(Directory.GetFiles(dir, ".*partial*"));
    }

    [Fact]
    public void BoxOptionPredictsOnThatBoxLikeDlib()
    {
        var row = TestData.GoldenLandmarks.First(r => r.BoxSource == "shifted");
        var b = row.Box;
        var r = CliRunner.Run("landmarks", TestData.Golden("images/" + row.Image), "--box", $"{b.Left},{b.Top},{b.Right},{b.Bottom}");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var doc = JsonDocument.Parse(r.StdOut);
        var pts = doc.RootElement.GetProperty("faces")[0].GetProperty("landmarks");
        for (int i = 0; i < 68; i++)
        {
            Assert.InRange(pts[i][0].GetDouble(), row.Landmarks[i].X - 0.01, row.Landmarks[i].X + 0.01);
            Assert.InRange(pts[i][1].GetDouble(), row.Landmarks[i].Y - 0.01, row.Landmarks[i].Y + 0.01);
        }
    }

    [Fact]
    public void VideoGivesOneRecordPerFrameAndAnOverlayVideo()
    {
        var dir = CliRunner.TempDir();
        var clip = Path.Combine(dir, "clip.mp4");
        MakeClip(TestData.Sample("franck.mp4"), clip, 20, 2);
        var json = Path.Combine(dir, "clip.jsonl");
        var mp4 = Path.Combine(dir, "overlay.mp4");
        var r = CliRunner.Run("landmarks", clip, "--json", json, "--overlay", mp4);
        Assert.True(r.ExitCode == 0, r.StdErr);
        output.WriteLine(r.StdErr);
        var lines = File.ReadAllLines(json);
        Assert.Equal(48, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            Assert.Equal(i, doc.RootElement.GetProperty("frame").GetInt32());
            Assert.Equal(68, doc.RootElement.GetProperty("faces")[0].GetProperty("landmarks").GetArrayLength());
        }
        using var cap = new VideoCapture(mp4);
        Assert.True(cap.IsOpened());
        Assert.Equal(48, cap.FrameCount);
        Assert.Equal(360, cap.FrameWidth);
    }

    internal static void MakeClip(string source, string target, double start, double duration) =>
        CliRunner.Ffmpeg($"-ss {start} -i \"{source}\" -t {duration} -c:v libx264 -pix_fmt yuv420p \"{target}\"");

    public static TheoryData<string, string> BadInputs() => new()
    {
        { "missing", "file not found" },
        { "empty", "file is empty" },
        { "text", "not an image or a video" },
        { "truncated-video", "an MP4/MOV file that cannot be read: truncated or damaged" },
        { "no-face", "no face found" },
        { "folder", "is a folder" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputGetsOneClearLineAndNoOutputFile(string kind, string expected)
    {
        var dir = CliRunner.TempDir();
        string input = Path.Combine(dir, kind switch { "text" => "notes.png", "truncated-video" => "cut.mp4", "no-face" => "flat.png", _ => kind + ".jpg" });
        switch (kind)
        {
            case "empty": File.WriteAllBytes(input, []); break;
            case "text": File.WriteAllText(input, "this is not a picture"); break;
            case "truncated-video": File.WriteAllBytes(input, File.ReadAllBytes(TestData.Sample("franck.mp4")).AsSpan(0, 4000).ToArray()); break;
            case "no-face": using (var m = new Mat(200, 300, MatType.CV_8UC3, new Scalar(30, 120, 200))) Cv2.ImWrite(input, m); break;
            case "folder": Directory.CreateDirectory(input); break;
        }
        var json = Path.Combine(dir, "out.json");
        var overlay = Path.Combine(dir, "out.png");
        var r = CliRunner.Run("landmarks", input, "--json", json, "--overlay", overlay);
        output.WriteLine(r.StdErr);
        Assert.Contains(input, CliRunner.AssertCleanFailure(r, expected, dir, json, overlay));
    }

    [Fact]
    public void VideoWithoutFaceFailsAndLeavesNothing()
    {
        var dir = CliRunner.TempDir();
        var clip = CliRunner.NoFaceClip(dir);
        var overlay = Path.Combine(dir, "o.mp4");
        var json = Path.Combine(dir, "o.jsonl");
        var r = CliRunner.Run("landmarks", clip, "--overlay", overlay, "--json", json);
        CliRunner.AssertCleanFailure(r, "no face found in any of its 10 frames", dir, overlay, json);
    }

    [Fact]
    public void UnwritableOutputIsRefusedUpFront()
    {
        var r = CliRunner.Run("landmarks", TestData.Golden("images/audrey.png"), "--overlay", "/nonexistent-folder/x.png");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("output folder does not exist", r.StdErr);
    }
}
