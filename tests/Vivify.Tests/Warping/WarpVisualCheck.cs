using OpenCvSharp;
using Vivify.Geometry;
using Vivify.Warping;
using Xunit.Abstractions;

namespace Vivify.Tests.Warping;

/// <summary>
/// Renders images for a person to look at (written to the temp folder, /tmp on Linux):
/// warp-check.png, a grid warped by a strong "talking" frame with smoothing (left) and without
/// (right), current points drawn (facial green, tracked red, border blue); and
/// warp-check-joconde.png, a golden portrait before and after the same kind of motion.
/// </summary>
public class WarpVisualCheck(ITestOutputHelper output)
{
    private static void DrawPoints(Mat img, PointD[] pts, WarpScene scene)
    {
        for (int i = 0; i < pts.Length; i++)
        {
            var col = scene.Facial[i] ? new Scalar(0, 200, 0) : scene.Border[i] ? new Scalar(255, 80, 0) : new Scalar(0, 0, 255);
            Cv2.Circle(img, new Point((int)Math.Round(pts[i].X), (int)Math.Round(pts[i].Y)), 3, col, -1, LineTypes.AntiAlias);
        }
    }

    [Fact]
    public void WritesWarpedGridAndPortrait()
    {
        var scene = new WarpScene();
        int n = WarpScene.Size;
        using var grid = new Mat(n, n, MatType.CV_8UC3, Scalar.All(255));
        for (int k = 0; k < n; k += 32)
        {
            Cv2.Line(grid, new Point(k, 0), new Point(k, n - 1), Scalar.All(60), 1);
            Cv2.Line(grid, new Point(0, k), new Point(n - 1, k), Scalar.All(60), 1);
        }
        Cv2.Rectangle(grid, new Rect(0, 0, n, n), new Scalar(0, 0, 200), 1);
        var cur = scene.Talking(1.5);
        var panels = new List<Mat>();
        foreach (var smoothing in new[] { true, false })
        {
            using var warp = scene.CreateWarp(new WarpOptions { Smoothing = smoothing });
            var o = new Mat();
            warp.Warp(cur, grid, o);
            DrawPoints(o, cur, scene);
            Cv2.PutText(o, smoothing ? "confidence-aware" : "no smoothing", new Point(20, 50), HersheyFonts.HersheySimplex, 1.2, new Scalar(0, 0, 0), 2);
            panels.Add(o);
            output.WriteLine($"smoothing={smoothing}: {warp.LastStats}");
        }
        using var sep = new Mat(n, 8, MatType.CV_8UC3, new Scalar(128, 128, 128));
        using var both = new Mat();
        Cv2.HConcat([panels[0], sep, panels[1]], both);
        string path = Path.Combine(Path.GetTempPath(), "warp-check.png");
        Cv2.ImWrite(path, both);
        using (var face = new Mat(panels[0], new Rect(250, 230, 560, 560))) Cv2.ImWrite(Path.Combine(Path.GetTempPath(), "warp-check-face.png"), face);
        foreach (var p in panels) p.Dispose();

        // a real portrait, non-square, in its own size
        using var img = Cv2.ImRead(TestData.Golden(Path.Combine("images", "joconde.png")), ImreadModes.Color);
        var js = WarpScene.ForGoldenImage("joconde.png", img.Width, img.Height);
        using var jw = js.CreateWarp();
        using var jo = new Mat();
        jw.Warp(js.Talking(1.5), img, jo);
        using var jsep = new Mat(img.Height, 8, MatType.CV_8UC3, new Scalar(128, 128, 128));
        using var jboth = new Mat();
        Cv2.HConcat([img, jsep, jo], jboth);
        using (var a = new Mat(img, new Rect(190, 120, 300, 320))) using (var b = new Mat(jo, new Rect(190, 120, 300, 320)))
        using (var pair = new Mat())
        {
            Cv2.HConcat([a, b], pair);
            Cv2.Resize(pair, pair, new Size(), 2, 2, InterpolationFlags.Nearest);
            Cv2.ImWrite(Path.Combine(Path.GetTempPath(), "warp-check-joconde-face.png"), pair);
        }
        string jpath = Path.Combine(Path.GetTempPath(), "warp-check-joconde.png");
        Cv2.ImWrite(jpath, jboth);
        output.WriteLine($"wrote {path} and {jpath}");
        Assert.True(File.Exists(path) && File.Exists(jpath));
    }
}
