// Similarity: a 2D similarity transform x -> A x + t with A = [[a, -b], [b, a]] (scale and
// rotation), and its least-squares fit between corresponding point sets (Umeyama's closed form
// in 2D). Guarantees: Fit minimises sum w_i |A from_i + t - to_i|^2 over the chosen indices; exact
// for points related by a similarity; Identity for fewer than two distinct points.
namespace Vivify.Geometry;

public readonly record struct Similarity(double A, double B, double Tx, double Ty)
{
    public static Similarity Identity { get; } = new(1, 0, 0, 0);

    public double Scale => Math.Sqrt(A * A + B * B);
    public double RotationRadians => Math.Atan2(B, A);

    public PointD Apply(PointD p) => new(A * p.X - B * p.Y + Tx, B * p.X + A * p.Y + Ty);

    /// <summary>Only the linear part (scale and rotation): for offsets between points.</summary>
    public PointD ApplyLinear(PointD v) => new(A * v.X - B * v.Y, B * v.X + A * v.Y);

    public Similarity Inverse()
    {
        double d = A * A + B * B;
        double ia = A / d, ib = -B / d;
        return new Similarity(ia, ib, -(ia * Tx - ib * Ty), -(ib * Tx + ia * Ty));
    }

    /// <summary>this after first: x -> this(first(x)).</summary>
    public Similarity Compose(Similarity first) => new(
        A * first.A - B * first.B, B * first.A + A * first.B,
        A * first.Tx - B * first.Ty + Tx, B * first.Tx + A * first.Ty + Ty);

    /// <summary>Least-squares fit over <paramref name="indices"/> (all points if empty), each point weighted by
    /// <paramref name="weights"/>[k] (parallel to the indices; all 1 if empty).</summary>
    public static Similarity Fit(ReadOnlySpan<PointD> from, ReadOnlySpan<PointD> to, ReadOnlySpan<int> indices = default, ReadOnlySpan<double> weights = default)
    {
        int n = indices.IsEmpty ? from.Length : indices.Length;
        if (n < 2) return Identity;
        double sw = 0, fx = 0, fy = 0, tx = 0, ty = 0;
        for (int k = 0; k < n; k++)
        {
            int i = indices.IsEmpty ? k : indices[k];
            double w = weights.IsEmpty ? 1 : weights[k];
            sw += w; fx += w * from[i].X; fy += w * from[i].Y; tx += w * to[i].X; ty += w * to[i].Y;
        }
        fx /= sw; fy /= sw; tx /= sw; ty /= sw;
        double sff = 0, p = 0, q = 0;
        for (int k = 0; k < n; k++)
        {
            int i = indices.IsEmpty ? k : indices[k];
            double w = weights.IsEmpty ? 1 : weights[k];
            double ux = from[i].X - fx, uy = from[i].Y - fy, vx = to[i].X - tx, vy = to[i].Y - ty;
            sff += w * (ux * ux + uy * uy); p += w * (ux * vx + uy * vy); q += w * (ux * vy - uy * vx);
        }
        if (sff < 1e-12) return new Similarity(1, 0, tx - fx, ty - fy);
        double a = p / sff, b = q / sff;
        return new Similarity(a, b, tx - (a * fx - b * fy), ty - (b * fx + a * fy));
    }
}
