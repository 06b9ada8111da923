using System.Text.Json;
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Media;

namespace Vivify.Bench;

/// <summary>Locates the repository's fixtures: golden images and rows, and the sample media from set-up.</summary>
public static class BenchData
{
    public static string RepoRoot => SampleMedia.RepositoryRoot ?? throw new InvalidOperationException("run from inside the repository");

    public static string GoldenDir => Path.Combine(RepoRoot, "tests", "Vivify.Tests", "data", "golden");
    public static string Sample(string name) => SampleMedia.PathOf(name);

    /// <summary>Every golden row as (intensity image, dlib box).</summary>
    public static List<(IntensityImage Image, FaceBox Box)> GoldenFaces()
    {
        var cache = new Dictionary<string, IntensityImage>();
        var rows = new List<(IntensityImage, FaceBox)>();
        foreach (var line in File.ReadLines(Path.Combine(GoldenDir, "landmarks.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var name = doc.RootElement.GetProperty("image").GetString()!;
            var b = doc.RootElement.GetProperty("box").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (!cache.TryGetValue(name, out var img))
            {
                using var m = Cv2.ImRead(Path.Combine(GoldenDir, "images", name), ImreadModes.Color);
                cache[name] = img = IntensityImage.FromMat(m);
            }
            rows.Add((img, new FaceBox(b[0], b[1], b[2], b[3])));
        }
        return rows;
    }
}
