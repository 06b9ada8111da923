using Xunit.Abstractions;

namespace Vivify.Tests;

/// <summary>`vivify reactions` on bad input: one line naming the problem, a non-zero exit, nothing written.</summary>
public class ReactionsCommandTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> BadCases() => new()
    {
        { "portrait-without-face", "no face found in the portrait" },
        { "portrait-is-video", "the portrait must be an image" },
        { "driver-is-image", "a driver must be a video" },
        { "output-not-empty", "output folder is not empty" },
        { "missing-parent", "the folder it would go in does not exist" },
        { "no-portrait", "--portrait is required" },
    };

    [Theory]
    [MemberData(nameof(BadCases))]
    public void BadInputGetsOneClearLineAndNoOutput(string kind, string expected)
    {
        var dir = CliRunner.TempDir();
        string portrait = TestData.Sample("audrey.jpg"), driver = TestData.Sample("cap13_edit2.mp4"), target = Path.Combine(dir, "profile");
        var args = new List<string>();
        switch (kind)
        {
            case "portrait-without-face":
                portrait = CliRunner.NoFaceImage(dir);
                break;
            case "portrait-is-video": portrait = driver; break;
            case "driver-is-image": driver = TestData.Sample("cage.jpg"); break;
            case "output-not-empty": Directory.CreateDirectory(target); File.WriteAllText(Path.Combine(target, "keep.txt"), "mine"); break;
            case "missing-parent": target = Path.Combine(dir, "nope", "profile"); break;
        }
        if (kind != "no-portrait") args.AddRange(["--portrait", portrait]);
        args.AddRange(["--drivers", driver, "-o", target, "--quiet"]);
        var r = CliRunner.Run(["reactions", .. args]);
        output.WriteLine(r.StdErr);
        CliRunner.AssertCleanFailure(r, expected, dir, Path.Combine(target, "manifest.json"));
        if (kind == "output-not-empty") Assert.Equal(["keep.txt"], Directory.GetFiles(target).Select(Path.GetFileName));
        else Assert.False(Directory.Exists(target), $"{target} was created");
    }
}
