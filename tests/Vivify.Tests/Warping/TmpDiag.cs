using System.Diagnostics;
using OpenCvSharp;
using Vivify.Warping;
using Xunit.Abstractions;
namespace Vivify.Tests.Warping;
public class TmpDiag(ITestOutputHelper output)
{
    [Fact]
    public void Phases()
    {
        if (Environment.GetEnvironmentVariable("CVT") is string s) Cv2.SetNumThreads(int.Parse(s));
        output.WriteLine($"cv threads {Cv2.GetNumThreads()}");
        var scene = new WarpScene();
        using var warp = new ConfidenceAwareWarp(1024, 1024, scene.Reference, scene.Facial);
        var frames = Enumerable.Range(0, 20).Select(k => scene.Talking(Math.Sin(k * 0.3))).ToArray();
        foreach (var f in frames) warp.BuildMap(f);
        Array.Clear(ConfidenceAwareWarp.T);
        int reps = 100;
        var sw = Stopwatch.StartNew();
        for (int k = 0; k < reps; k++) warp.BuildMap(frames[k % 20]);
        var t = ConfidenceAwareWarp.T;
        double ms(long x) => x * 1000.0 / Stopwatch.Frequency / reps;
        output.WriteLine($"total {sw.Elapsed.TotalMilliseconds / reps:0.00} coarse {ms(t[0]):0.00} (smooth {ms(t[1]):0.00} finish(thread-sum) {ms(t[2]):0.00} fullraster(thread-sum) {ms(t[3]):0.00}); levels {string.Join(",", warp.LevelRadiiPx.Select(r => r.ToString("0.0")))}");
        long span = 0; 
        output.WriteLine($"threads {ThreadPool.ThreadCount}");
    }
}
