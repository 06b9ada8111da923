using System.Diagnostics;
using OpenCvSharp;
using Vivify.Geometry;
using Vivify.Warping;
using Xunit.Abstractions;

namespace Vivify.Tests.Warping;

public class ConfidenceAwareWarpTests(ITestOutputHelper output)
{
    private static readonly WarpScene Scene = new();
    private const int N = WarpScene.Size;

    private static ConfidenceAwareWarp MakeWarp(WarpOptions? o = null) => Scene.CreateWarp(o);

    private static unsafe float[] ToArray(Mat m)
    {
        int rows = m.Rows, cols = m.Cols;
        var a = new float[rows * cols];
        for (int y = 0; y < rows; y++) new ReadOnlySpan<float>((float*)m.Ptr(y), cols).CopyTo(a.AsSpan(y * cols));
        return a;
    }

    private static Mat Pattern()
    {
        var img = new Mat(N, N, MatType.CV_8UC3, Scalar.All(40));
        for (int k = 0; k < N; k += 32)
        {
            Cv2.Line(img, new Point(k, 0), new Point(k, N - 1), new Scalar(230, 230, 230), 1);
            Cv2.Line(img, new Point(0, k), new Point(N - 1, k), new Scalar(230, 230, 230), 1);
        }
        for (int k = 0; k < 12; k++)
            Cv2.Circle(img, new Point(512, 540), 30 + 40 * k, new Scalar(40 + 17 * k, 200 - 13 * k, 90 + 11 * k), 3, LineTypes.AntiAlias);
        return img;
    }

    [Fact]
    public void TriangulationTilesTheImage()
    {
        using var warp = MakeWarp();
        double area = warp.Triangles.Sum(t => Triangulation.SignedArea2(Scene.Reference[t.A], Scene.Reference[t.B], Scene.Reference[t.C])) / 2;
        output.WriteLine($"{Scene.Count} points ({Scene.Facial.Count(f => f)} facial, {Scene.Border.Count(b => b)} border), {warp.Triangles.Count} triangles, area {area:0.###} of {(N - 1.0) * (N - 1.0)}");
        Assert.All(warp.Triangles, t => Assert.True(Triangulation.SignedArea2(Scene.Reference[t.A], Scene.Reference[t.B], Scene.Reference[t.C]) > 0));
        Assert.True(Math.Abs(area - (N - 1.0) * (N - 1.0)) < 1e-3, $"triangles cover {area}, image hull is {(N - 1.0) * (N - 1.0)}");
    }

    [Fact]
    public void ConstraintEdgesAreInTheTriangulation()
    {
        using var warp = MakeWarp();
        var edges = new HashSet<(int, int)>();
        foreach (var t in warp.Triangles)
            foreach (var (a, b) in new[] { (t.A, t.B), (t.B, t.C), (t.C, t.A) }) edges.Add(a < b ? (a, b) : (b, a));
        int absent = Scene.Constraints.Count(e => !edges.Contains(e.A < e.B ? (e.A, e.B) : (e.B, e.A)));
        double area = warp.Triangles.Sum(t => Triangulation.SignedArea2(Scene.Reference[t.A], Scene.Reference[t.B], Scene.Reference[t.C])) / 2;
        output.WriteLine($"{Scene.Constraints.Length} constraint edges, {absent} absent, reported missing {warp.MissingConstraintEdges}; area {area:0.###}");
        Assert.Equal(0, absent);
        Assert.Equal(0, warp.MissingConstraintEdges);
        Assert.True(Math.Abs(area - (N - 1.0) * (N - 1.0)) < 1e-3, $"constrained triangles cover {area}");
        Assert.All(warp.Triangles, t => Assert.True(Triangulation.SignedArea2(Scene.Reference[t.A], Scene.Reference[t.B], Scene.Reference[t.C]) > 0));
    }

    /// <summary>
    /// Opening the mouth (lower lip and chin down) of a closed-mouth portrait, in its own size:
    /// with the lip contours as constraints nothing folds and the upper lip does not move; a plain
    /// Delaunay triangulation has triangles spanning both lips and drags the upper lip along.
    /// </summary>
    [Theory]
    [InlineData("audrey.png", 540, 720)]     // inner lips predicted crossed
    [InlineData("joconde.png", 743, 1155)]
    public void OpeningTheMouthLeavesTheUpperLipAlone(string image, int w, int h)
    {
        var scene = WarpScene.ForGoldenImage(image, w, h);
        var cur = scene.Identity();
        double drop = 0.08 * (cur[16].X - cur[0].X);
        foreach (int i in new[] { 5, 6, 7, 8, 9, 10, 11, 55, 56, 57, 58, 59, 65, 66, 67 })
            cur[i] += new PointD(0, i <= 11 ? 1.2 * drop : drop);
        var band = new[] { 48, 49, 50, 51, 52, 53, 54, 64, 63, 62, 61, 60 }.Select(i => new Point2f((float)scene.Reference[i].X, (float)scene.Reference[i].Y)).ToArray();
        double worstConstrained = 0;
        foreach (var constrained in new[] { true, false })
        {
            using var warp = scene.CreateWarp(constrained: constrained);
            warp.BuildMap(cur);
            var mx = ToArray(warp.MapX); var my = ToArray(warp.MapY);
            double worst = 0; int n = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    if (Cv2.PointPolygonTest(band, new Point2f(x, y), true) < 0.5) continue;
                    n++;
                    worst = Math.Max(worst, Math.Max(Math.Abs(mx[y * w + x] - x), Math.Abs(my[y * w + x] - y)));
                }
            output.WriteLine($"{image} mouth opened {drop:0.0} px, constrained={constrained}: {warp.LastStats}; upper lip ({n} px) moves up to {worst:0.000} px");
            Assert.True(n > 100, "upper lip band unexpectedly small");
            if (constrained)
            {
                worstConstrained = worst;
                Assert.Equal(0, warp.LastStats.FlippedTriangles);
                Assert.True(worst < 0.01, $"upper lip moved by {worst} px");
            }
            else Assert.True(worst > 10 * Math.Max(worstConstrained, 0.01), "plain Delaunay did not disturb the upper lip: the test cannot tell");
        }
    }

    [Fact]
    public void IdentityLeavesImageUnchanged()
    {
        using var warp = MakeWarp();
        warp.BuildMap(Scene.Identity());
        var mx = ToArray(warp.MapX); var my = ToArray(warp.MapY);
        double worst = 0;
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
                worst = Math.Max(worst, Math.Max(Math.Abs(mx[y * N + x] - x), Math.Abs(my[y * N + x] - y)));
        using var img = Pattern();
        using var outImg = new Mat();
        warp.Apply(img, outImg);
        using var diff = new Mat();
        Cv2.Absdiff(img, outImg, diff);
        Cv2.MinMaxLoc(diff.Reshape(1), out _, out double maxGrey);
        output.WriteLine($"identity: max map error {worst:E2} px, max grey difference {maxGrey}");
        Assert.True(worst < 1e-3, $"identity map off by {worst} px");
        Assert.True(maxGrey <= 1, $"identity warp changed a pixel by {maxGrey} grey levels");
    }

    [Fact]
    public void TranslationMovesTheFaceExactly()
    {
        const double tx = 23.4, ty = -11.7;
        using var warp = MakeWarp();
        warp.BuildMap(Scene.Translated(tx, ty));
        var mx = ToArray(warp.MapX); var my = ToArray(warp.MapY);
        double worst = 0; int inside = 0;
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
            {
                if (warp.DistanceFromFace(x - tx, y - ty) >= 0) continue;   // the moved face hull
                inside++;
                worst = Math.Max(worst, Math.Max(Math.Abs(mx[y * N + x] - (x - tx)), Math.Abs(my[y * N + x] - (y - ty))));
            }
        output.WriteLine($"translation ({tx}, {ty}): {inside} face pixels, max map error {worst:E2} px");
        Assert.True(inside > 100_000, "face region unexpectedly small");
        Assert.True(worst < 0.01, $"face map off by {worst} px");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BorderStaysFixed(bool smoothing)
    {
        using var warp = MakeWarp(new WarpOptions { Smoothing = smoothing });
        warp.BuildMap(Scene.Talking(1.5));
        var mx = ToArray(warp.MapX); var my = ToArray(warp.MapY);
        double worst = 0;
        for (int k = 0; k < N; k++)
            foreach (var (x, y) in new[] { (k, 0), (k, N - 1), (0, k), (N - 1, k) })
                worst = Math.Max(worst, Math.Max(Math.Abs(mx[y * N + x] - x), Math.Abs(my[y * N + x] - y)));
        output.WriteLine($"smoothing={smoothing}: max border map error {worst:E2} px");
        Assert.True(worst < 0.01, $"border pixel maps {worst} px away from itself");
    }

    /// <summary>Max |second difference| of both map components, in x and y, over pixels whose source is far from the face.</summary>
    private static (double max, double p99) SecondDifferences(ConfidenceAwareWarp warp, float[] mx, float[] my, double minDistance)
    {
        var vals = new List<double>();
        for (int y = 1; y < N - 1; y++)
            for (int x = 1; x < N - 1; x++)
            {
                int i = y * N + x;
                if (warp.DistanceFromFace(mx[i], my[i]) < minDistance) continue;
                double v = 0;
                foreach (var m in new[] { mx, my })
                {
                    v = Math.Max(v, Math.Abs(m[i - 1] - 2 * m[i] + m[i + 1]));
                    v = Math.Max(v, Math.Abs(m[i - N] - 2 * m[i] + m[i + N]));
                }
                vals.Add(v);
            }
        vals.Sort();
        return (vals[^1], vals[(int)(0.99 * (vals.Count - 1))]);
    }

    [Fact]
    public void SmoothAwayFromTheFace()
    {
        var cur = Scene.Talking();
        using var smooth = MakeWarp();
        using var plain = MakeWarp(new WarpOptions { Smoothing = false });
        smooth.BuildMap(cur); plain.BuildMap(cur);
        double far = WarpOptions.Default.RampDistancePx(N, N);
        var (sMax, sP99) = SecondDifferences(smooth, ToArray(smooth.MapX), ToArray(smooth.MapY), far);
        var (pMax, pP99) = SecondDifferences(plain, ToArray(plain.MapX), ToArray(plain.MapY), far);
        output.WriteLine($"second differences where d >= {far:0.#} px: smoothed max {sMax:0.0000} p99 {sP99:0.0000}; unsmoothed max {pMax:0.0000} p99 {pP99:0.0000}");
        Assert.True(sMax < 0.01, $"smoothed field has second differences up to {sMax} px");
        Assert.True(pMax > 10 * sMax, $"unsmoothed kinks ({pMax}) not clearly above smoothed ({sMax}): the test cannot tell");
    }

    /// <summary>
    /// The exact spans' finishing pass runs eight samples at a time where the CPU has AVX2: the same operations in the
    /// same order as the scalar loop, so the same maps to the bit, on a talking face, on one moving two and a half times
    /// as far, and with the head moved, turned and enlarged (the blend band then lies on other pixels).
    /// </summary>
    [Fact]
    public void TheVectorisedFinishMatchesTheScalarLoopToTheBit()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) { output.WriteLine("no AVX2 here: only the scalar loop runs"); return; }
        var talking = Scene.Talking();
        var c = new PointD(N / 2.0, N / 2.0);
        double cos = Math.Cos(0.15), sin = Math.Sin(0.15);
        PointD[] moved = [.. talking.Select((p, i) => Scene.Border[i] ? p : new PointD(c.X + 1.05 * (cos * (p.X - c.X) - sin * (p.Y - c.Y)) + 40, c.Y + 1.05 * (sin * (p.X - c.X) + cos * (p.Y - c.Y)) - 25))];
        using var vector = MakeWarp();
        using var scalar = MakeWarp();
        scalar.VectorisedFinish = false;
        Assert.True(vector.VectorisedFinish);
        long blended = 0;
        foreach (var cur in new[] { talking, Scene.Talking(2.5), moved })
        {
            vector.BuildMap(cur); scalar.BuildMap(cur);
            var vx = ToArray(vector.MapX); var vy = ToArray(vector.MapY); var sx = ToArray(scalar.MapX); var sy = ToArray(scalar.MapY);
            int first = Enumerable.Range(0, N * N).FirstOrDefault(i => BitConverter.SingleToInt32Bits(vx[i]) != BitConverter.SingleToInt32Bits(sx[i])
                                                                        || BitConverter.SingleToInt32Bits(vy[i]) != BitConverter.SingleToInt32Bits(sy[i]), -1);
            Assert.True(first < 0, first < 0 ? "" : $"pixel ({first % N}, {first / N}): vectorised ({vx[first]}, {vy[first]}), scalar ({sx[first]}, {sy[first]})");
            for (int i = 0; i < N * N; i++)
            {
                double d = vector.DistanceFromFace(vx[i], vy[i]);
                if (d > 0 && d < 20) blended++;
            }
        }
        output.WriteLine($"{blended} samples within 20 px outside the face over the three frames, all equal to the bit");
        Assert.True(blended > 10_000, "the frames should reach the blend band");
    }

    [Fact]
    public void OptimisedMatchesReference()
    {
        var cur = Scene.Talking();
        foreach (var smoothing in new[] { false, true })
        {
            using var warp = MakeWarp(new WarpOptions { Smoothing = smoothing });
            warp.BuildMap(cur);
            using var rx = new Mat(); using var ry = new Mat();
            var sw = Stopwatch.StartNew();
            warp.BuildMapReference(cur, rx, ry);
            sw.Stop();
            var ox = ToArray(warp.MapX); var oy = ToArray(warp.MapY); var ax = ToArray(rx); var ay = ToArray(ry);
            double sumIn = 0, maxIn = 0, sumOut = 0, maxOut = 0; long nIn = 0, nOut = 0;
            for (int i = 0; i < N * N; i++)
            {
                double e = Math.Max(Math.Abs(ox[i] - ax[i]), Math.Abs(oy[i] - ay[i]));
                Assert.False(double.IsNaN(e), $"NaN at pixel {i}");
                if (warp.DistanceFromFace(ax[i], ay[i]) < 0) { sumIn += e; maxIn = Math.Max(maxIn, e); nIn++; }
                else { sumOut += e; maxOut = Math.Max(maxOut, e); nOut++; }
            }
            output.WriteLine($"smoothing={smoothing} (reference took {sw.ElapsedMilliseconds} ms): face mean {sumIn / nIn:E2} max {maxIn:E2} px; elsewhere mean {sumOut / nOut:E2} max {maxOut:E2} px");
            if (!smoothing)
            {
                Assert.True(Math.Max(maxIn, maxOut) < 1e-3, $"rasteriser differs from per-pixel barycentric by {Math.Max(maxIn, maxOut)} px");
                continue;
            }
            Assert.True(sumIn / nIn < 0.05 && maxIn < 0.5, $"face: mean {sumIn / nIn} max {maxIn} px");
            Assert.True(sumOut / nOut < 0.05 && maxOut < 1.0, $"elsewhere: mean {sumOut / nOut} max {maxOut} px");
        }
    }

    [Fact]
    public void PatternTranslatesExactlyInsideTheFace()
    {
        const int tx = 20, ty = -12;
        using var warp = MakeWarp();
        using var img = Pattern();
        using var outImg = new Mat();
        warp.Warp(Scene.Translated(tx, ty), img, outImg);
        int worst = 0, n = 0, borderWorst = 0;
        Vec3b Src(int y, int x) => img.At<Vec3b>(y, x);
        Vec3b Dst(int y, int x) => outImg.At<Vec3b>(y, x);
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
            {
                bool onBorder = x == 0 || y == 0 || x == N - 1 || y == N - 1;
                if (onBorder)
                {
                    var a = Src(y, x); var b = Dst(y, x);
                    for (int c = 0; c < 3; c++) borderWorst = Math.Max(borderWorst, Math.Abs(a[c] - b[c]));
                }
                if (warp.DistanceFromFace(x - tx, y - ty) >= 0) continue;
                var p = Src(y - ty, x - tx); var q = Dst(y, x);
                for (int c = 0; c < 3; c++) worst = Math.Max(worst, Math.Abs(p[c] - q[c]));
                n++;
            }
        output.WriteLine($"pattern shifted by ({tx}, {ty}): {n} face pixels, max grey difference {worst}; border max {borderWorst}");
        Assert.True(worst <= 1, $"face pixels differ from the shifted pattern by up to {worst}");
        Assert.True(borderWorst <= 1, $"border pixels changed by up to {borderWorst}");
    }

    [Fact]
    public void FoldOversStayFiniteAndCovered()
    {
        var cur = Scene.Talking(2);
        var rnd = new Random(3);
        // throw some points far across their neighbours, and swap two landmarks
        for (int k = 0; k < 25; k++)
        {
            int i = rnd.Next(Scene.Count);
            if (Scene.Border[i]) continue;
            cur[i] = cur[i] + new PointD(rnd.Next(-250, 250), rnd.Next(-250, 250));
        }
        (cur[36], cur[45]) = (cur[45], cur[36]);
        cur[30] = new PointD(-300, 2000);   // far outside the image
        using var warp = MakeWarp();
        warp.BuildMap(cur);
        var mx = ToArray(warp.MapX); var my = ToArray(warp.MapY);
        int bad = 0; double lo = double.MaxValue, hi = double.MinValue;
        for (int i = 0; i < N * N; i++)
        {
            if (!float.IsFinite(mx[i]) || !float.IsFinite(my[i])) bad++;
            lo = Math.Min(lo, Math.Min(mx[i], my[i])); hi = Math.Max(hi, Math.Max(mx[i], my[i]));
        }
        output.WriteLine($"fold-over: {warp.LastStats}; map range [{lo:0.##}, {hi:0.##}], non-finite {bad}");
        Assert.True(warp.LastStats.FlippedTriangles > 0, "the scene did not fold over: the test tests nothing");
        Assert.Equal(0, bad);
        Assert.True(lo > -2 && hi < N + 1, $"sources outside the portrait: [{lo}, {hi}]");
        using var img = Pattern(); using var o = new Mat();
        warp.Apply(img, o);   // must not throw
    }

    /// <summary>
    /// Untrusted (non-facial) points thrown up to 120 px fold the mesh; untangling moves them
    /// until nothing folds, and the face, built from facial points only, is exactly the same map.
    /// </summary>
    [Fact]
    public void UntanglingFixesUntrustedPointsAndLeavesTheFaceExact()
    {
        var clean = Scene.Talking();
        var noisy = (PointD[])clean.Clone();
        var rnd = new Random(5);
        for (int i = 0; i < Scene.Count; i++)
            if (!Scene.Facial[i] && !Scene.Border[i] && rnd.NextDouble() < 0.3) noisy[i] += new PointD(rnd.Next(-120, 121), rnd.Next(-120, 121));
        using var plain = MakeWarp(new WarpOptions { UntangleIterations = 0 });
        plain.BuildMap(noisy);
        using var warp = MakeWarp();
        warp.BuildMap(clean);
        var cx = ToArray(warp.MapX); var cy = ToArray(warp.MapY);
        warp.BuildMap(noisy);
        var nx = ToArray(warp.MapX); var ny = ToArray(warp.MapY);
        double worst = 0; int face = 0;
        for (int i = 0; i < N * N; i++)
        {
            if (warp.DistanceFromFace(cx[i], cy[i]) >= 0) continue;
            face++;
            worst = Math.Max(worst, Math.Max(Math.Abs(nx[i] - cx[i]), Math.Abs(ny[i] - cy[i])));
        }
        output.WriteLine($"{warp.IgnoredPoints} untrusted points ignored inside the face; without untangling: {plain.LastStats}; with: {warp.LastStats}; face ({face} px) map change {worst:E2} px");
        Assert.True(plain.LastStats.FlippedTriangles > 0, "the noise did not fold the mesh: the test tests nothing");
        Assert.Equal(0, warp.LastStats.FlippedTriangles);
        Assert.True(face > 100_000);
        Assert.True(worst < 1e-3, $"untrusted points changed the face map by {worst} px");
    }

    /// <summary>
    /// A group of untrusted points that strays together (every non-facial point above the brows slides 100 px down,
    /// past them, as a driver's forehead points did under a far head tilt) folds the mesh in a way the Laplacian
    /// untangling cannot undo, since each point's neighbours moved with it. The stray limit holds each point on its
    /// side of the trusted edges nearest it: every such point stays above the brows, and what still folds (slivers
    /// between two of them and a far brow point) covers a small fraction of the area it did. An ordinary talking
    /// frame (points that follow the head, with jitter) is left almost as it is.
    /// </summary>
    [Fact]
    public void AGroupOfStrayingPointsIsHeldOnItsSideOfTheBrows()
    {
        var r = Scene.Reference;
        int[] brows = [17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
        double BrowY(double x)
        {
            for (int j = 0; j + 1 < brows.Length; j++)
            {
                PointD a = r[brows[j]], b = r[brows[j + 1]];
                if (x >= a.X && x <= b.X) return a.Y + (b.Y - a.Y) * (x - a.X) / Math.Max(1e-9, b.X - a.X);
            }
            return double.NaN;
        }
        var slid = Scene.Identity();
        var moved = Enumerable.Range(0, Scene.Count).Where(i => !Scene.Facial[i] && !Scene.Border[i] && r[i].Y < BrowY(r[i].X)).ToArray();
        foreach (int i in moved) slid[i] = slid[i] + new PointD(0, 100);
        using var unlimited = MakeWarp(new WarpOptions { StrayLimit = 0 });
        using var warp = MakeWarp();
        double FlippedArea(ConfidenceAwareWarp w)
        {
            w.BuildMap(slid);
            var u = w.PointsUsed; double sum = 0;
            static double A(PointD a, PointD b, PointD c) => (b.X - a.X) * (c.Y - a.Y) - (b.Y - a.Y) * (c.X - a.X);
            foreach (var t in w.Triangles)
            {
                double now = A(u[t.A], u[t.B], u[t.C]);
                if (now * A(r[t.A], r[t.B], r[t.C]) < 0) sum += Math.Abs(now) / 2;
            }
            return sum;
        }
        double foldedUnlimited = FlippedArea(unlimited), folded = FlippedArea(warp);
        int below = moved.Count(i => slid[i].Y > BrowY(r[i].X)), stillBelow = moved.Count(i => warp.PointsUsed[i].Y >= BrowY(r[i].X));
        output.WriteLine($"{moved.Length} points above the brows slid 100 px down, {below} of them past the brows; flipped area: untangling alone {foldedUnlimited:0} px² ({unlimited.LastStats.FlippedTriangles} triangles), with the stray limit {folded:0} px² ({warp.LastStats.FlippedTriangles}); points still past the brows {stillBelow}");
        Assert.True(below >= 8, "the slide should carry points past the brows");
        Assert.True(foldedUnlimited > 1000, "the slide did not fold the mesh: the test tests nothing");
        Assert.Equal(0, stillBelow);
        Assert.True(folded < 0.1 * foldedUnlimited, $"the limit left {folded:0} px² folded");

        // an ordinary talking frame: the limit changes nothing there
        var talking = Scene.Talking();
        unlimited.BuildMap(talking); warp.BuildMap(talking);
        var ux = ToArray(unlimited.MapX); var uy = ToArray(unlimited.MapY); var wx = ToArray(warp.MapX); var wy = ToArray(warp.MapY);
        double worst = 0; int changed = 0;
        for (int i = 0; i < ux.Length; i++)
        {
            double d = Math.Max(Math.Abs(ux[i] - wx[i]), Math.Abs(uy[i] - wy[i]));
            worst = Math.Max(worst, d);
            if (d > 0.5) changed++;
        }
        double share = (double)changed / ux.Length;
        output.WriteLine($"talking frame: map changed by more than 0.5 px on {100 * share:0.00} % of the image (largest {worst:0.00} px: a point jittered towards a brow it lies a few pixels above)");
        Assert.True(share < 0.01, $"the limit changed an ordinary frame's map on {100 * share:0.0} % of the image");
    }

    [Fact]
    public void RejectsMismatchedInput()
    {
        using var warp = MakeWarp();
        Assert.Throws<ArgumentException>(() => warp.BuildMap(Scene.Reference.Take(10).ToArray()));
        var bad = Scene.Identity(); bad[3] = new PointD(double.NaN, 1);
        Assert.Throws<ArgumentException>(() => warp.BuildMap(bad));
        Assert.Throws<ArgumentException>(() => new ConfidenceAwareWarp(N, N, Scene.Reference, Scene.Facial.Take(3).ToArray()));
        Assert.Throws<ArgumentException>(() => Scene.CreateWarp(new WarpOptions { FieldScale = 0 }));
    }
}
