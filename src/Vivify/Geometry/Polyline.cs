// Polyline: a piecewise-linear function through its vertices (positions xs, increasing, and values
// ys), as the eye and mouth stages trace lids and lips across a feature.
// Guarantees: exact at the vertices, linear between them, held constant beyond the ends; a segment
// of zero length takes its right vertex's value.
namespace Vivify.Geometry;

public static class Polyline
{
    /// <summary>The polyline's value at <paramref name="x"/>.</summary>
    public static double At(ReadOnlySpan<double> xs, ReadOnlySpan<double> ys, double x)
    {
        if (x <= xs[0]) return ys[0];
        for (int k = 1; k < xs.Length; k++)
            if (x <= xs[k]) return xs[k] - xs[k - 1] < 1e-9 ? ys[k] : ys[k - 1] + (ys[k] - ys[k - 1]) * (x - xs[k - 1]) / (xs[k] - xs[k - 1]);
        return ys[^1];
    }
}
