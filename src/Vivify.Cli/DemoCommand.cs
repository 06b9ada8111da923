// `vivify demo`: the main job on a bundled example (the sample media fetched by set-up), so a
// new user sees Vivify work with one command: landmarks on a sample portrait (an overlay PNG), and
// that portrait animated by 10 s of a sample talking-face video (MP4), under out/.
using System.CommandLine;
using Vivify;
using Vivify.Media;

namespace Vivify.Cli;

internal static class DemoCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Folder for the results.", DefaultValueFactory = _ => "out" };
        var cmd = new Command("demo", "Run the main job on bundled samples: landmarks, then an animation (writes under out/).") { outDir };
        cmd.SetAction(r => Run(r.GetValue(outDir)!));
        return cmd;
    }

    private static int Run(string outDir)
    {
        var samples = SampleMedia.Folder;
        if (!File.Exists(Path.Combine(samples, "audrey.jpg")))
            throw new VivifyException(samples, "sample media missing: run scripts/setup.sh (the ./vivify launcher does)");
        Directory.CreateDirectory(outDir);
        var png = Path.Combine(outDir, "demo-audrey-landmarks.png");
        var json = Path.Combine(outDir, "demo-audrey-landmarks.json");
        int rc = LandmarksCommand.Create().Parse([Path.Combine(samples, "audrey.jpg"), "--overlay", png, "--json", json]).Invoke();
        if (rc != 0) return rc;
        Console.WriteLine($"wrote {png} and {json}");
        var mp4 = Path.Combine(outDir, "demo-audrey-franck.mp4");
        rc = AnimateCommand.Create().Parse(["--portrait", Path.Combine(samples, "audrey.jpg"), "--driver", Path.Combine(samples, "franck.mp4"),
            "--start", "20", "--duration", "10", "-o", mp4]).Invoke();
        if (rc != 0) return rc;
        Console.WriteLine($"wrote {mp4}");
        return 0;
    }
}
