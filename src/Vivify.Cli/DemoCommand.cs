// `vivify demo`: the main job on a bundled example (the sample media fetched by set-up), so a
// new user sees Vivify work with one command. For now: landmarks on a sample portrait and on a
// sample video, written as overlays under out/.
using System.CommandLine;
using Vivify;

namespace Vivify.Cli;

internal static class DemoCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Folder for the results.", DefaultValueFactory = _ => "out" };
        var cmd = new Command("demo", "Run the main job on a bundled sample (writes under out/).") { outDir };
        cmd.SetAction(r => Run(r.GetValue(outDir)!));
        return cmd;
    }

    private static int Run(string outDir)
    {
        var samples = Path.Combine(RepoRoot(), "data", "samples");
        if (!File.Exists(Path.Combine(samples, "audrey.jpg")))
            throw new VivifyException(samples, "sample media missing: run scripts/setup.sh (the ./vivify launcher does)");
        Directory.CreateDirectory(outDir);
        var png = Path.Combine(outDir, "demo-audrey-landmarks.png");
        var json = Path.Combine(outDir, "demo-audrey-landmarks.json");
        int rc = LandmarksCommand.Create().Parse([Path.Combine(samples, "audrey.jpg"), "--overlay", png, "--json", json]).Invoke();
        if (rc != 0) return rc;
        Console.WriteLine($"wrote {png} and {json}");
        return 0;
    }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Vivify.slnx"))) d = d.Parent;
        return d?.FullName ?? Directory.GetCurrentDirectory();
    }
}
