// UprightView: the neighbourhood of a tilted face, turned upright.
// dlib's landmark model and OpenCV's frontal cascades were trained on upright faces: a head rolled
// by more than about 30 degrees is not found by the cascades, and the model's landmarks slide off it
// (its regression steps are learnt in the box's axes, not the face's). A view is the square of the
// image around a face, rotated by minus the face's roll (the eye line's angle) and resampled
// bilinearly, with the similarity that takes its pixels back to the image.
// Requires: an 8-bit BGR or grey Mat; a centre, a roll (radians, image y down) and a side (pixels).
// Guarantees: ToImage(ToView(p)) == p within rounding; a view of roll 0 is a plain crop (pixels
// outside the image repeat its edge); Intensity follows dlib's grey rule (IntensityImage).
using OpenCvSharp;
using Vivify.Geometry;

namespace Vivify.Faces;

public sealed class UprightView : IDisposable
{
    /// <summary>Largest view side, pixels: a face this size has detail to spare for the 68 points.</summary>
    public const int MaxSide = 1024;

    private IntensityImage? _intensity;

    private UprightView(Mat image, Similarity toImage, double roll)
    {
        Image = image; ToImageTransform = toImage; Roll = roll;
    }

    /// <summary>The view's pixels (the source's channels).</summary>
    public Mat Image { get; }
    /// <summary>The face's roll the view removes, radians.</summary>
    public double Roll { get; }
    /// <summary>View pixel to image pixel.</summary>
    public Similarity ToImageTransform { get; }
    public IntensityImage Intensity => _intensity ??= IntensityImage.FromMat(Image);

    public PointD ToImage(PointD p) => ToImageTransform.Apply(p);
    public PointD[] ToImage(ReadOnlySpan<PointD> points)
    {
        var r = new PointD[points.Length];
        for (int i = 0; i < r.Length; i++) r[i] = ToImageTransform.Apply(points[i]);
        return r;
    }
    public PointD[] ToView(ReadOnlySpan<PointD> points)
    {
        var inv = ToImageTransform.Inverse();
        var r = new PointD[points.Length];
        for (int i = 0; i < r.Length; i++) r[i] = inv.Apply(points[i]);
        return r;
    }

    /// <summary>The roll of a face: the angle of the line from its left eye's centre (points 36-41) to its right
    /// eye's (42-47), radians, positive clockwise on screen (image y points down).</summary>
    public static double RollOf(ReadOnlySpan<PointD> landmarks)
    {
        var d = FaceLandmarks.RightEyeCenter(landmarks) - FaceLandmarks.LeftEyeCenter(landmarks);
        return Math.Atan2(d.Y, d.X);
    }

    /// <summary>The view at <paramref name="pose"/>.</summary>
    public static UprightView Around(Mat image, ViewPose pose) => Around(image, pose.Centre, pose.Roll, pose.Side);

    /// <summary>The square of <paramref name="image"/> of side <paramref name="side"/> centred on <paramref name="centre"/>,
    /// rotated by -<paramref name="roll"/>; scaled down where the side exceeds <see cref="MaxSide"/>.</summary>
    public static UprightView Around(Mat image, PointD centre, double roll, double side)
    {
        double scale = Math.Min(1.0, MaxSide / Math.Max(side, 1));
        int n = Math.Max(8, (int)Math.Ceiling(side * scale));
        // view (u, v) -> image: centre + R(roll) * (u - n/2, v - n/2) / scale
        double a = Math.Cos(roll) / scale, b = Math.Sin(roll) / scale;
        var toImage = new Similarity(a, b, centre.X - (a * n / 2 - b * n / 2), centre.Y - (b * n / 2 + a * n / 2));
        var toView = toImage.Inverse();
        using var m = new Mat(2, 3, MatType.CV_64FC1);
        m.Set(0, 0, toView.A); m.Set(0, 1, -toView.B); m.Set(0, 2, toView.Tx);
        m.Set(1, 0, toView.B); m.Set(1, 1, toView.A); m.Set(1, 2, toView.Ty);
        var view = new Mat();
        Cv2.WarpAffine(image, view, m, new Size(n, n), InterpolationFlags.Linear, BorderTypes.Replicate);
        return new UprightView(view, toImage, roll);
    }

    /// <summary>The view around a face whose landmarks are known (<see cref="PoseOf"/>).</summary>
    public static UprightView AroundFace(Mat image, ReadOnlySpan<PointD> landmarks, ReadOnlySpan<float> meanShape, double sides = DefaultSides)
    {
        var pose = PoseOf(landmarks, meanShape, sides);
        return Around(image, pose.Centre, pose.Roll, pose.Side);
    }

    /// <summary>Face boxes a view around a face spans: room for a face that moved between two video frames, and for
    /// the predictor's samples outside the box.</summary>
    public const double DefaultSides = 2.5;

    /// <summary>Where a view around a face lies: centred on the box its landmarks get once turned upright, its side
    /// <paramref name="sides"/> times that box's, turned by the face's roll.</summary>
    public static ViewPose PoseOf(ReadOnlySpan<PointD> landmarks, ReadOnlySpan<float> meanShape, double sides = DefaultSides)
    {
        double roll = RollOf(landmarks);
        var (box, centre) = UprightBox(landmarks, meanShape, roll);
        return new ViewPose(centre, roll, sides * box.Width);
    }

    /// <summary>The box the predictor expects for a face at any roll: the upright face's box (its size as the model
    /// places its mean shape), centred where that box's centre lies on the tilted face. For a face within a few degrees
    /// of upright, close to <see cref="FaceLandmarks.BoxFor"/>, whose scale shrinks with the cosine of the roll.</summary>
    public static FaceBox BoxOf(ReadOnlySpan<PointD> landmarks, ReadOnlySpan<float> meanShape)
    {
        var (box, centre) = UprightBox(landmarks, meanShape, RollOf(landmarks));
        double half = (box.Right - box.Left) / 2.0;
        int l = (int)Math.Round(centre.X - half), t = (int)Math.Round(centre.Y - half), z = box.Right - box.Left;
        return new FaceBox(l, t, l + z, t + z);
    }

    private static (FaceBox Box, PointD Centre) UprightBox(ReadOnlySpan<PointD> landmarks, ReadOnlySpan<float> meanShape, double roll)
    {
        var c = FaceLandmarks.Mean(landmarks);
        var upright = new PointD[landmarks.Length];
        for (int i = 0; i < upright.Length; i++) upright[i] = c + Rotate(landmarks[i] - c, -roll);
        var box = FaceLandmarks.BoxFor(upright, meanShape);
        // the box centre of the upright points, turned back about c into the image
        return (box, c + Rotate(new PointD(box.CenterX, box.CenterY) - c, roll));
    }

    private static PointD Rotate(PointD v, double angle)
    {
        double cs = Math.Cos(angle), sn = Math.Sin(angle);
        return new PointD(cs * v.X - sn * v.Y, sn * v.X + cs * v.Y);
    }

    public void Dispose() => Image.Dispose();
}

/// <summary>Where an <see cref="UprightView"/> lies in its image: its centre, the roll it removes (radians) and its side (pixels).</summary>
public readonly record struct ViewPose(PointD Centre, double Roll, double Side)
{
    /// <summary>Whether two poses are near enough to read a still face through the same view (no resampling jitter):
    /// roll within 1.5 degrees, centre within 2 % and side within 3 % of the side.</summary>
    public bool Near(ViewPose other) =>
        Math.Abs(Roll - other.Roll) < 1.5 * Math.PI / 180 && PointD.Distance(Centre, other.Centre) < 0.02 * Side
        && Math.Abs(Side / other.Side - 1) < 0.03;
}
