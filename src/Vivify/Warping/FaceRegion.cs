// FaceRegion: the face region of a portrait (the convex hull of its facial points) and the
// signed distance of every pixel from it.
// Requires: finite points; fewer than 3 non-collinear points give a degenerate hull (a point or
// a segment, nothing is inside it); no points at all give "no face" (every distance is +Far).
// Guarantees: Hull is convex with positive signed area in image coordinates (x right, y down);
// SignedDistance[y * Width + x] is the Euclidean distance from pixel centre (x, y) to the hull
// boundary, negative inside the hull, positive outside, exact up to float rounding (computed
// analytically, not from a rasterised mask). Bilinear interpolation of it is exact along the
// straight parts of the boundary (the signed distance to a line is linear).
using Vivify.Geometry;

namespace Vivify.Warping;

internal sealed class FaceRegion
{
    public const float Far = 1e6f;

    public PointD[] Hull { get; }
    public int Width { get; }
    public int Height { get; }
    public float[] SignedDistance { get; }

    public FaceRegion(int width, int height, IEnumerable<PointD> facialPoints)
    {
        Width = width; Height = height;
        Hull = ConvexHull(facialPoints.ToArray());
        SignedDistance = new float[(long)width * height];
        var hull = Hull;
        if (hull.Length == 0) { Array.Fill(SignedDistance, Far); return; }
        bool area = hull.Length >= 3;
        Parallel.For(0, height, y =>
        {
            var row = SignedDistance.AsSpan(y * width, width);
            for (int x = 0; x < width; x++) row[x] = (float)Signed(hull, area, x, y);
        });
    }

    /// <summary>Signed distance of (x, y) from the hull, computed exactly.</summary>
    public double SignedDistanceAt(double x, double y)
        => Hull.Length == 0 ? Far : Signed(Hull, Hull.Length >= 3, x, y);

    /// <summary>Bilinear lookup of the distance map, clamped to the image.</summary>
    public float Sample(double x, double y) => Sample(SignedDistance, Width, Height, (float)x, (float)y);

    internal static float Sample(float[] map, int width, int height, float x, float y)
    {
        x = Math.Clamp(x, 0f, width - 1); y = Math.Clamp(y, 0f, height - 1);
        int x0 = Math.Min((int)x, width - 2), y0 = Math.Min((int)y, height - 2);
        if (x0 < 0) x0 = 0; if (y0 < 0) y0 = 0;
        float fx = x - x0, fy = y - y0;
        int i = y0 * width + x0;
        int dx = width > 1 ? 1 : 0, dy = height > 1 ? width : 0;
        float top = map[i] + fx * (map[i + dx] - map[i]);
        float bot = map[i + dy] + fx * (map[i + dy + dx] - map[i + dy]);
        return top + fy * (bot - top);
    }

    private static double Signed(PointD[] hull, bool hasArea, double x, double y)
    {
        double best = double.MaxValue;
        bool inside = hasArea;
        int n = hull.Length;
        if (n == 1) return Math.Sqrt((x - hull[0].X) * (x - hull[0].X) + (y - hull[0].Y) * (y - hull[0].Y));
        for (int i = 0; i < n; i++)
        {
            var a = hull[i]; var b = hull[(i + 1) % n];
            double ux = b.X - a.X, uy = b.Y - a.Y, vx = x - a.X, vy = y - a.Y;
            if (ux * vy - uy * vx < 0) inside = false;
            double len2 = ux * ux + uy * uy;
            double t = len2 > 0 ? Math.Clamp((ux * vx + uy * vy) / len2, 0, 1) : 0;
            double ex = vx - t * ux, ey = vy - t * uy;
            best = Math.Min(best, ex * ex + ey * ey);
        }
        double d = Math.Sqrt(best);
        return inside ? -d : d;
    }

    /// <summary>Andrew's monotone chain; collinear points dropped; positive signed area (y down).</summary>
    internal static PointD[] ConvexHull(PointD[] pts)
    {
        var p = pts.Distinct().OrderBy(q => q.X).ThenBy(q => q.Y).ToArray();
        if (p.Length <= 2) return p;
        var h = new PointD[2 * p.Length];
        int k = 0;
        for (int i = 0; i < p.Length; i++)
        {
            while (k >= 2 && Triangulation.SignedArea2(h[k - 2], h[k - 1], p[i]) <= 0) k--;
            h[k++] = p[i];
        }
        for (int i = p.Length - 2, t = k + 1; i >= 0; i--)
        {
            while (k >= t && Triangulation.SignedArea2(h[k - 2], h[k - 1], p[i]) <= 0) k--;
            h[k++] = p[i];
        }
        return h[..(k - 1)];   // all collinear: the chain degenerates to its two ends
    }
}
