using BenchmarkDotNet.Attributes;
using Vivify.Faces;

namespace Vivify.Bench;

/// <summary>Per-face landmark prediction over the 24 golden rows: the plain reference path (baseline) and the optimised path.</summary>
[MemoryDiagnoser]
public class PredictorBenchmarks
{
    private List<(IntensityImage Image, FaceBox Box)> _faces = [];
    private ShapePredictor _p = null!;

    [GlobalSetup]
    public void Setup() { _p = ShapePredictor.Default; _faces = BenchData.GoldenFaces(); }

    [Benchmark(Baseline = true, OperationsPerInvoke = 24)]
    public double Reference()
    {
        double s = 0;
        foreach (var (img, box) in _faces) s += _p.PredictReference(img, box)[30].X;
        return s;
    }

    [Benchmark(OperationsPerInvoke = 24)]
    public double Optimised()
    {
        double s = 0;
        foreach (var (img, box) in _faces) s += _p.Predict(img, box)[30].X;
        return s;
    }
}
