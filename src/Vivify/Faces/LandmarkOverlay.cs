// LandmarkOverlay: draws faces (box and 68 points, with the jaw, brows, nose, eyes and lips
// joined by lines) onto a BGR image so a person can check landmarks at a glance.
// Guarantees: draws in place; scales line width and dot size with the face size.
using OpenCvSharp;
using Vivify.Geometry;

namespace Vivify.Faces;

public static class LandmarkOverlay
{
    private static readonly (int From, int To, bool Closed)[] Contours =
        [(0, 16, false), (17, 21, false), (22, 26, false), (27, 30, false), (31, 35, false),
         (36, 41, true), (42, 47, true), (48, 59, true), (60, 67, true)];

    public static void Draw(Mat image, Face face, Scalar? color = null) => Draw(image, face.Box, face.Landmarks, color);

    public static void Draw(Mat image, FaceBox? box, IReadOnlyList<PointD> points, Scalar? color = null)
    {
        var c = color ?? new Scalar(0, 255, 0);
        double size = box is { } b ? b.Width : Math.Max(1, FaceLandmarks.InterOcularDistance(points.ToArray()) * 2.5);
        int thick = Math.Max(1, (int)Math.Round(size / 200));
        int radius = Math.Max(1, (int)Math.Round(size / 120));
        const int shift = 4; // sub-pixel drawing: coordinates in 1/16 px
        Point P(PointD p) => new((int)Math.Round(p.X * 16), (int)Math.Round(p.Y * 16));
        if (box is { } bx)
            Cv2.Rectangle(image, new Point(bx.Left, bx.Top), new Point(bx.Right, bx.Bottom), new Scalar(255, 160, 0), thick);
        if (points.Count == FaceLandmarks.Count)
            foreach (var (from, to, closed) in Contours)
            {
                var poly = Enumerable.Range(from, to - from + 1).Select(i => P(points[i])).ToArray();
                Cv2.Polylines(image, [poly], closed, new Scalar(c.Val0 * 0.6, c.Val1 * 0.6, c.Val2 * 0.6), thick, LineTypes.AntiAlias, shift);
            }
        foreach (var p in points)
            Cv2.Circle(image, P(p), radius * 16, c, -1, LineTypes.AntiAlias, shift);
    }
}
