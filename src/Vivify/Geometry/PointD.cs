// PointD: a 2D point in image pixels (double precision). x to the right, y down; pixel centres at
// integer coordinates (dlib's and OpenCV's convention).
namespace Vivify.Geometry;

public readonly record struct PointD(double X, double Y)
{
    public static PointD operator +(PointD a, PointD b) => new(a.X + b.X, a.Y + b.Y);
    public static PointD operator -(PointD a, PointD b) => new(a.X - b.X, a.Y - b.Y);
    public static PointD operator *(double s, PointD a) => new(s * a.X, s * a.Y);
    public double Length => Math.Sqrt(X * X + Y * Y);
    public static double Distance(PointD a, PointD b) => (a - b).Length;
    public override string ToString() => FormattableString.Invariant($"({X:0.###}, {Y:0.###})");
}
