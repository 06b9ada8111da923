using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;
using Xunit.Abstractions;

namespace Vivify.Tests;

public class FaceDetectorTests(ITestOutputHelper output)
{
    private static readonly FaceDetector Detector = new();

    [Fact]
    public void DetectorPlusPredictorLandsWithinTwoPercentOfDlibOnGoldenImages()
    {
        var rows = TestData.GoldenLandmarks.Where(r => r.BoxSource == "dlib_hog").ToList();
        Assert.True(rows.Count >= 10);
        double worst = 0, sum = 0;
        foreach (var row in rows)
        {
            using var img = Cv2.ImRead(TestData.Golden(Path.Combine("images", row.Image)), ImreadModes.Color);
            var faces = Detector.Detect(img);
            if (faces.Count == 0) { output.WriteLine($"{row.Image}: no face found"); worst = double.PositiveInfinity; continue; }
            var face = faces.OrderByDescending(f => FaceDetector.Overlap(f.Box, row.Box)).First();
            double iod = FaceLandmarks.InterOcularDistance(row.Landmarks);
            double mean = face.Landmarks.Zip(row.Landmarks, PointD.Distance).Average() / iod;
            var props = Detector.ProposeBoxes(img);
            output.WriteLine($"{row.Image,-26} dlib {row.Box} ours {face.Box} first proposal {(props.Count > 0 ? props[0].ToString() : "-")} faces {faces.Count}  mean error {mean * 100:0.00}% IOD");
            worst = Math.Max(worst, mean);
            sum += mean;
        }
        double average = sum / rows.Count;
        output.WriteLine($"mean over images {average * 100:0.00}%, worst image {worst * 100:0.00}% of inter-ocular distance");
        // dlib's HOG boxes come on a coarse grid (pyramid steps of 1.2 in scale, 8-pixel HOG cells
        // in position: about +-9% and +-4.5% of the box), which no other detector can reproduce;
        // on faces where the predictor is sensitive to the box (beards, glasses) that alone moves
        // points by 3% of IOD. See the issue note.
        Assert.True(average <= 0.02, $"mean landmark error over images {average:P2} of IOD exceeds 2%");
        Assert.True(worst <= 0.05, $"worst image's mean landmark error {worst:P2} of IOD exceeds 5%");
    }
}
