using OpenCvSharp;
using Vivify.Faces;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class ShapePredictorTests(ITestOutputHelper output)
{
    private static IntensityImage LoadGolden(string name)
    {
        using var m = Cv2.ImRead(TestData.Golden(Path.Combine("images", name)), ImreadModes.Color);
        return IntensityImage.FromMat(m);
    }

    [Fact]
    public void ModelHasDlibsShape()
    {
        var p = ShapePredictor.Default;
        Assert.Equal(68, p.PartCount);
        Assert.Equal(15, p.CascadeLevels);
        Assert.Equal(500, p.TreesPerLevel);
        Assert.Equal(500, p.FeaturesPerLevel);
    }

    [Fact]
    public void ReproducesDlibOnEveryGoldenRow()
    {
        var p = ShapePredictor.Default;
        Assert.True(TestData.GoldenLandmarks.Count >= 20);
        double worst = 0;
        foreach (var row in TestData.GoldenLandmarks)
        {
            var img = LoadGolden(row.Image);
            var pts = p.Predict(img, row.Box);
            double rowWorst = 0;
            for (int i = 0; i < 68; i++)
            {
                rowWorst = Math.Max(rowWorst, Math.Abs(pts[i].X - row.Landmarks[i].X));
                rowWorst = Math.Max(rowWorst, Math.Abs(pts[i].Y - row.Landmarks[i].Y));
            }
            output.WriteLine($"{row.Image} {row.BoxSource} {row.Box}: max deviation {rowWorst:0.0000} px");
            worst = Math.Max(worst, rowWorst);
        }
        output.WriteLine($"worst over all rows: {worst:0.0000} px");
        Assert.True(worst <= 0.01, $"largest deviation from dlib {worst} px exceeds 0.01 px");
    }

    [Fact]
    public void OptimisedPathMatchesReferenceBitForBit()
    {
        var p = ShapePredictor.Default;
        foreach (var row in TestData.GoldenLandmarks)
        {
            var img = LoadGolden(row.Image);
            Assert.Equal(p.PredictReference(img, row.Box), p.Predict(img, row.Box));
        }
    }

    [Fact]
    public void CorruptModelGivesClearError()
    {
        var bytes = File.ReadAllBytes(ShapePredictor.ModelPath).AsSpan(0, 100_000).ToArray();
        var path = Path.Combine(Path.GetTempPath(), $"vivify-truncated-{Guid.NewGuid():N}.dat");
        File.WriteAllBytes(path, bytes);
        try
        {
            var e = Assert.Throws<VivifyException>(() => ShapePredictor.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("ends early", e.Message);
        }
        finally { File.Delete(path); }
    }
}
