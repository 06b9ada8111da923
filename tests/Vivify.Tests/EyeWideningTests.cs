using OpenCvSharp;
using Vivify.Eyes;
using Vivify.Geometry;
using Vivify.Tests.Warping;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class EyeWideningTests(ITestOutputHelper output)
{
    /// <summary>
    /// Two drawn eyes with known irises (centres (100, 64) and (300, 64), radius 24; their tops hidden under the upper
    /// lids, white on both sides and under them): each fitted circle lies within a pixel and a half of the drawn one, its
    /// radius within 10 %. With one eye's iris painted over in white neither eye is modelled (both or neither).
    /// </summary>
    [Fact]
    public void TheIrisIsFoundWhereItIsDrawn()
    {
        var lm = new PointD[68];
        for (int i = 0; i < 68; i++) lm[i] = new PointD(200, 120);
        // each eye: corner, upper lid (two points), corner, lower lid (two points)
        PointD[] eye = [new(40, 64), new(80, 46), new(120, 46), new(160, 64), new(120, 86), new(80, 86)];
        for (int k = 0; k < 6; k++) { lm[36 + k] = eye[k]; lm[42 + k] = new PointD(eye[k].X + 200, eye[k].Y); }
        Mat Draw(bool secondIris)
        {
            var image = new Mat(130, 400, MatType.CV_8UC3, new Scalar(130, 150, 190));
            foreach (var (first, cx, withIris) in new[] { (36, 100, true), (42, 300, secondIris) })
            {
                using var opening = new Mat(image.Size(), MatType.CV_8UC1, Scalar.All(0));
                Cv2.FillConvexPoly(opening, Enumerable.Range(first, 6).Select(k => new Point((int)lm[k].X, (int)lm[k].Y)).ToArray(), Scalar.All(255));
                using var iris = new Mat(image.Size(), MatType.CV_8UC1, Scalar.All(0));
                if (withIris) Cv2.Circle(iris, new Point(cx, 64), 24, Scalar.All(255), -1);
                Cv2.BitwiseAnd(iris, opening, iris);
                image.SetTo(new Scalar(232, 236, 240), opening);
                image.SetTo(new Scalar(40, 70, 90), iris);
            }
            Cv2.GaussianBlur(image, image, new Size(3, 3), 0);
            return image;
        }
        using var both = Draw(true);
        var widening = new EyeWidening(both, lm);
        foreach (var (e, cx) in new[] { (0, 100), (1, 300) })
        {
            var model = widening.Model(e);
            Assert.NotNull(model);
            var centre = model.FromFrame(model.IrisH, model.IrisV);
            output.WriteLine($"eye {e}: iris centre ({centre.X:0.0}, {centre.Y:0.0}), radius {model.IrisRadius:0.0}; agreement {model.AgreeIn:0.00} / {model.AgreeOut:0.00}; white {model.White}, iris {model.Iris}");
            Assert.True(PointD.Distance(centre, new PointD(cx, 64)) < 1.5, $"iris centre ({centre.X:0.0}, {centre.Y:0.0}), drawn at ({cx}, 64)");
            Assert.InRange(model.IrisRadius, 24 * 0.9, 24 * 1.1);
            Assert.True(model.White.Item0 > 200 && model.Iris.Item0 < 80);
        }
        using var one = Draw(false);
        var oneEyed = new EyeWidening(one, lm);
        Assert.Null(oneEyed.Model(0));
        Assert.Null(oneEyed.Model(1));
    }

    /// <summary>
    /// audrey's upper lids raised by 60 % of each eye's opening, her eye corners still: the warp stretches each eyeball
    /// (iris into a tall oval); with EyeWidening the eyeball stays where it was. Over the eye's lower part (the portrait's
    /// opening, from its lower lid up to the lid's margin) the output differs from audrey's own eye by under 3 grey
    /// levels, against over 10 with the stretch. The revealed band under the raised lid holds no lash-dark pixels (darker
    /// than the iris's ring). Away from the eyes' openings the frame is the warp's, bit for bit; a frame whose eyes open
    /// no wider than the portrait's is left alone, and one just past the threshold (weight 0.002) by a grey level at most.
    /// </summary>
    [Fact]
    public void AWideningEyeKeepsItsEyeballInsteadOfStretchingIt()
    {
        using var portrait = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        var scene = WarpScene.ForGoldenImage("audrey.png", portrait.Width, portrait.Height);
        var widening = new EyeWidening(portrait, scene.Reference[..68]);
        Assert.NotNull(widening.Model(0)); Assert.NotNull(widening.Model(1));
        using var warp = scene.CreateWarp();

        // the same eyes: nothing to do
        var same = scene.Identity();
        using var still = new Mat();
        warp.Warp(same, portrait, still);
        using var stillAfter = still.Clone();
        widening.Apply(portrait, warp.MapX, warp.MapY, same, stillAfter);
        Assert.Equal(0, widening.LastRedrawnEyes);
        using (var d0 = new Mat()) { Cv2.Absdiff(still, stillAfter, d0); Assert.Equal(0, Cv2.CountNonZero(d0.CvtColor(ColorConversionCodes.BGR2GRAY))); }

        // just past the threshold the redraw has hardly any weight: no pop as an eye starts to widen
        var starting = scene.Identity();
        foreach (var (up, low) in new[] { (37, 41), (38, 40), (43, 47), (44, 46) })
            starting[up] = starting[up] + 0.055 * (starting[up] - starting[low]);
        Assert.InRange(widening.Widening(starting, 0), EyeWidening.WideShare, EyeWidening.WideShare + 0.01);
        using var startStretched = new Mat();
        warp.Warp(starting, portrait, startStretched);
        using var startWidened = startStretched.Clone();
        widening.Apply(portrait, warp.MapX, warp.MapY, starting, startWidened);
        using (var ds = new Mat())
        {
            Cv2.Absdiff(startStretched, startWidened, ds);
            Cv2.MinMaxLoc(ds.Reshape(1), out _, out double most);
            output.WriteLine($"widening {widening.Widening(starting, 0):0.000} (weight {EyeWidening.Weight(widening.Widening(starting, 0)):0.0000}): at most {most} grey levels from the stretch");
            Assert.True(most <= 1, $"a pop of {most} grey levels as the eye starts to widen");
        }

        var current = scene.Identity();
        foreach (var (up, low) in new[] { (37, 41), (38, 40), (43, 47), (44, 46) })
            current[up] = current[up] + 0.6 * (current[up] - current[low]);
        Assert.True(widening.Widening(current, 0) > 0.3 && widening.Widening(current, 1) > 0.3);
        using var stretched = new Mat();
        warp.Warp(current, portrait, stretched);
        using var widened = stretched.Clone();
        widening.Apply(portrait, warp.MapX, warp.MapY, current, widened);
        Assert.Equal(2, widening.LastRedrawnEyes);

        foreach (var (eye, e) in EyelidClosure.EyeIndices.Select((eye, e) => (eye, e)))
        {
            var model = widening.Model(e)!;
            double margin = (EyeWidening.MarginShare + EyeWidening.BlendShare) * model.Width + 1;
            // the portrait's opening, its upper edge lowered past the lid's margin, shrunk by a pixel
            var poly = new[] { 0, 1, 2, 3, 4, 5 }.Select(k => scene.Reference[eye[k]]).ToArray();
            for (int k = 1; k <= 2; k++) poly[k] = new PointD(poly[k].X, poly[k].Y + margin);
            using var mask = new Mat(portrait.Size(), MatType.CV_8UC1, Scalar.All(0));
            Cv2.FillConvexPoly(mask, poly.Select(p => new Point((int)Math.Round(p.X), (int)Math.Round(p.Y))).ToArray(), Scalar.All(255));
            Cv2.Erode(mask, mask, null, iterations: 1);
            double Diff(Mat m) { using var d = new Mat(); Cv2.Absdiff(m, portrait, d); var s = Cv2.Mean(d, mask); return (s.Val0 + s.Val1 + s.Val2) / 3; }
            double own = Diff(widened), stretch = Diff(stretched);
            // white above the iris: up its centre column, from a pixel over the iris's circle to the raised lid
            double up = current[eye[1]].Y + 0.5 * (current[eye[2]].Y - current[eye[1]].Y);      // the lid over the iris, about
            var centre = model.FromFrame(model.IrisH, model.IrisV);
            int Light(Mat bgr)
            {
                using var g = bgr.CvtColor(ColorConversionCodes.BGR2GRAY);
                int n = 0;
                for (int y = (int)Math.Floor(centre.Y - model.IrisRadius - 1); y > up; y--)
                    if (g.At<byte>(y, (int)Math.Round(centre.X)) >= model.Threshold) n++;
                return n;
            }
            int whiteWidened = Light(widened), whiteStretched = Light(stretched);
            output.WriteLine($"eye {eye[0]}-{eye[5]}: lower part ({Cv2.CountNonZero(mask)} px) differs from the portrait's by {own:0.00} widened, {stretch:0.00} stretched; white above the iris {whiteWidened} px widened, {whiteStretched} px stretched");
            Assert.True(own < 3, $"the widened eye's lower part differs by {own:0.00} grey levels from the portrait's own eyeball");
            Assert.True(stretch > 10, $"the stretched eye differs by only {stretch:0.00}: the test would not see a stretch");
            Assert.True(whiteWidened >= 2 && whiteStretched == 0, $"white above the iris: {whiteWidened} px widened, {whiteStretched} px stretched");
        }
        // nothing changes outside the animated openings (grown by a pixel)
        using var outside = new Mat(portrait.Size(), MatType.CV_8UC1, Scalar.All(255));
        foreach (var eye in EyelidClosure.EyeIndices)
            Cv2.FillConvexPoly(outside, eye.Select(k => new Point((int)Math.Round(current[k].X), (int)Math.Round(current[k].Y))).ToArray(), Scalar.All(0));
        Cv2.Erode(outside, outside, null, iterations: 2);
        using var diff = new Mat();
        Cv2.Absdiff(widened, stretched, diff);
        using var changed = diff.CvtColor(ColorConversionCodes.BGR2GRAY);
        changed.SetTo(Scalar.All(0), outside.Threshold(0, 255, ThresholdTypes.BinaryInv));
        Assert.Equal(0, Cv2.CountNonZero(changed));
    }
}
