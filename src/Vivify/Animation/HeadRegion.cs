// HeadRegion: where the portrait's head (face and hair) is, and points just outside its outline.
// The correspondences move those points with the driver's head, so a head that moves far (leans
// back, drops, turns) carries all of its hair along and the background stretches instead: without
// them the hair above the driver's tracked points lies in triangles reaching to the fixed border,
// and stretched into a cone when the head moved down (cap13_edit2.mp4 at 25.8 s, audrey and cage).
// Found by GrabCut (OpenCV) on a box around the face, scaled to about 40 px between the eyes,
// seeded with the face (sure foreground: the landmarks' hull and the forehead above the brows),
// an ellipse around it where hair may be (probable foreground) and the rest (probable
// background); the connected part holding the face is the head.
// Requires: a BGR portrait and its 68 landmarks. Guarantees: deterministic (a fixed seed); costs one GrabCut on
// a small box (about 0.1-0.3 s once per portrait); Outline lies at least MarginIod outside the
// head, above the mouth's level (the neck and shoulders do not move with the head), and away
// from the image's border (Correspondences.AwayFromBorder); a portrait whose head cannot be told from the background (the
// segmentation covers most of the box) gives no outline and no region.
using OpenCvSharp;
using Vivify.Faces;
using Vivify.Geometry;

namespace Vivify.Animation;

public sealed class HeadRegion : IDisposable
{
    /// <summary>Outline points lie this far outside the segmented head (IODs): the hair's wisps move with it.</summary>
    public const double MarginIod = 0.06;
    /// <summary>Spacing of the outline points along the outline (IODs).</summary>
    public const double SpacingIod = 0.2;
    /// <summary>The segmentation runs at about this many pixels between the eyes.</summary>
    private const double WorkIod = 40;

    private readonly Mat _mask;            // 255 on the head (grown by the margin), work scale, box coordinates
    private readonly Rect _box;            // the box in the portrait
    private readonly double _scale;        // work pixels per portrait pixel

    /// <summary>Points just outside the head's outline, above the mouth's level (portrait pixels).</summary>
    public PointD[] Outline { get; }

    private readonly PointD _mid, _up;         // the eyes' midpoint and the face's up direction (unit)
    private readonly double _mouthLevel;       // the mouth's height above the eyes (negative: below)

    private HeadRegion(Mat mask, Rect box, double scale, PointD[] outline, PointD mid, PointD up, double mouthLevel)
    { _mask = mask; _box = box; _scale = scale; Outline = outline; _mid = mid; _up = up; _mouthLevel = mouthLevel; }

    /// <summary>How far p lies above the eyes' midpoint, along the face's up direction (negative: below).</summary>
    private static double Height(PointD p, PointD mid, PointD up) => (p - mid).X * up.X + (p - mid).Y * up.Y;

    /// <summary>True where the portrait pixel lies on the head (within the margin around it) above the mouth's level.</summary>
    public bool Contains(PointD p)
    {
        if (Height(p, _mid, _up) < _mouthLevel) return false;
        int x = (int)Math.Round((p.X - _box.X) * _scale), y = (int)Math.Round((p.Y - _box.Y) * _scale);
        return x >= 0 && y >= 0 && x < _mask.Width && y < _mask.Height && _mask.At<byte>(y, x) != 0;
    }

    /// <summary>How far inside the head (grown by the margin) p lies, in portrait pixels; 0 outside it.</summary>
    public double DepthInside(PointD p)
    {
        int x = (int)Math.Round((p.X - _box.X) * _scale), y = (int)Math.Round((p.Y - _box.Y) * _scale);
        if (x < 0 || y < 0 || x >= _mask.Width || y >= _mask.Height) return 0;
        if (_depth is null) { _depth = new Mat(); Cv2.DistanceTransform(_mask, _depth, DistanceTypes.L2, DistanceTransformMasks.Precise); }
        return _depth.At<float>(y, x) / _scale;
    }
    private Mat? _depth;               // distance to the nearest pixel off the head, work scale (made on first use)

    public void Dispose() { _mask.Dispose(); _depth?.Dispose(); }

    /// <summary>The head of the portrait's face, or null where it cannot be told from the background.</summary>
    public static HeadRegion? Find(Mat portrait, ReadOnlySpan<PointD> landmarks)
    {
        var l = landmarks.ToArray();
        double iod = FaceLandmarks.InterOcularDistance(l);
        var le = FaceLandmarks.LeftEyeCenter(l); var re = FaceLandmarks.RightEyeCenter(l);
        var mid = 0.5 * (le + re);
        var ax = (1 / iod) * (re - le); var up = new PointD(ax.Y, -ax.X);   // image y is down: up is the eye axis turned -90 degrees
        // the box: 2.6 IODs either side of the eyes' midpoint, 3 above, 2.2 below (hair, ears, jaw)
        var corners = new[] { (-2.6, 3.0), (2.6, 3.0), (-2.6, -2.2), (2.6, -2.2) }.Select(c => mid + c.Item1 * iod * ax + c.Item2 * iod * up).ToArray();
        int x0 = Math.Max(0, (int)Math.Floor(corners.Min(p => p.X))), y0 = Math.Max(0, (int)Math.Floor(corners.Min(p => p.Y)));
        int x1 = Math.Min(portrait.Width, (int)Math.Ceiling(corners.Max(p => p.X))), y1 = Math.Min(portrait.Height, (int)Math.Ceiling(corners.Max(p => p.Y)));
        if (x1 - x0 < 8 || y1 - y0 < 8) return null;
        var box = new Rect(x0, y0, x1 - x0, y1 - y0);
        double s = Math.Min(1, WorkIod / iod);
        using var crop = new Mat(portrait, box);
        using var img = new Mat();
        Cv2.Resize(crop, img, new Size(Math.Max(8, (int)Math.Round(box.Width * s)), Math.Max(8, (int)Math.Round(box.Height * s))), 0, 0, InterpolationFlags.Area);
        PointD W(PointD p) => new((p.X - box.X) * s, (p.Y - box.Y) * s);
        Point Wi(PointD p) { var w = W(p); return new Point((int)Math.Round(w.X), (int)Math.Round(w.Y)); }
        double wIod = iod * s;

        using var mask = new Mat(img.Size(), MatType.CV_8UC1, Scalar.All((int)GrabCutClasses.PR_BGD));
        // where hair may be: an ellipse around the face, reaching higher than the forehead
        var ec = W(mid + 0.25 * iod * up);
        float angle = (float)(Math.Atan2(ax.Y, ax.X) * 180 / Math.PI);
        Cv2.Ellipse(mask, new RotatedRect(new Point2f((float)ec.X, (float)ec.Y), new Size2f((float)(3.2 * wIod), (float)(3.7 * wIod)), angle),
            Scalar.All((int)GrabCutClasses.PR_FGD), -1);
        // surely the head: the landmarks' hull and the forehead up to half an IOD above the brows
        var sure = l.Select(Wi).Concat(Enumerable.Range(17, 10).Select(k => Wi(l[k] + 0.5 * iod * up))).ToArray();
        Cv2.FillConvexPoly(mask, Cv2.ConvexHull(sure), Scalar.All((int)GrabCutClasses.FGD));
        // the image's own border, where the box reaches it, is background
        int bw = 2;
        if (box.Y == 0) Cv2.Rectangle(mask, new Rect(0, 0, img.Width, bw), Scalar.All((int)GrabCutClasses.BGD), -1);
        if (box.X == 0) Cv2.Rectangle(mask, new Rect(0, 0, bw, img.Height), Scalar.All((int)GrabCutClasses.BGD), -1);
        if (box.Right == portrait.Width) Cv2.Rectangle(mask, new Rect(img.Width - bw, 0, bw, img.Height), Scalar.All((int)GrabCutClasses.BGD), -1);
        // GrabCut seeds its colour models from OpenCV's (thread-local) random generator: a fixed seed makes the
        // region, and so every rendered frame, the same from run to run; the caller's generator is restored
        var callerRng = Cv2.GetTheRNG().State;
        Cv2.SetTheRNG(0x5EED);
        try
        {
            using var bgd = new Mat();
            using var fgd = new Mat();
            Cv2.GrabCut(img, mask, new Rect(), bgd, fgd, 4, GrabCutModes.InitWithMask);
        }
        finally { Cv2.SetTheRNG(callerRng); }

        // the head: foreground (sure or probable) connected to the face
        var head = new Mat(img.Size(), MatType.CV_8UC1, Scalar.All(0));
        var ms = mask.AsSpan<byte>(); var hs = head.AsSpan<byte>();
        for (int k = 0; k < ms.Length; k++) hs[k] = ms[k] == (byte)GrabCutClasses.FGD || ms[k] == (byte)GrabCutClasses.PR_FGD ? (byte)255 : (byte)0;
        using (var labels = new Mat())
        {
            Cv2.ConnectedComponents(head, labels, PixelConnectivity.Connectivity8);
            var c = Wi(mid);
            int faceLabel = labels.At<int>(Math.Clamp(c.Y, 0, img.Height - 1), Math.Clamp(c.X, 0, img.Width - 1));
            var ls = labels.AsSpan<int>();
            for (int k = 0; k < hs.Length; k++) hs[k] = faceLabel != 0 && ls[k] == faceLabel ? (byte)255 : (byte)0;
        }
        // a head that fills most of the box was not told from the background
        if (Cv2.CountNonZero(head) > 0.8 * head.Width * head.Height) { head.Dispose(); return null; }
        int grow = Math.Max(1, (int)Math.Round(MarginIod * wIod));
        using (var k = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * grow + 1, 2 * grow + 1)))
            Cv2.Dilate(head, head, k);

        // the outline, sampled along its length, above the mouth, inside the image
        Cv2.FindContours(head, out var contours, out _, RetrievalModes.External, ContourApproximationModes.ApproxNone);
        var outline = new List<PointD>();
        double mouthLevel = Height(FaceLandmarks.Mean(l.AsSpan(48, 20)), mid, up);
        if (contours.Length > 0)
        {
            var contour = contours.OrderByDescending(c => c.Length).First();
            double step = SpacingIod * wIod, run = step;
            for (int k = 1; k <= contour.Length; k++)
            {
                var a = contour[k - 1]; var b = contour[k % contour.Length];
                run += Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y));
                if (run < step) continue;
                run = 0;
                var p = new PointD(b.X / s + box.X, b.Y / s + box.Y);
                if (Height(p, mid, up) < mouthLevel) continue;
                if (!Correspondences.AwayFromBorder(p, portrait.Width, portrait.Height)) continue;
                outline.Add(p);
            }
        }
        return new HeadRegion(head, box, s, [.. outline], mid, up, mouthLevel);
    }
}
