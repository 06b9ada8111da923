// OneEuroFilter: the 1-euro filter (Casiez, Roussel, Vogel, CHI 2012) for a vector of values,
// e.g. all 136 landmark coordinates. A low-pass filter whose cut-off rises with speed: still
// points are smoothed hard (no shimmer), fast motion passes with little lag.
// Requires: samples at a known rate. Guarantees: causal; the first sample passes unchanged;
// values in pixels, MinCutoff in Hz, Beta in 1/pixel (scale it with the face size).
namespace Vivify.Faces;

public sealed class OneEuroFilter
{
    private readonly double _rate, _minCutoff, _beta, _dCutoff;
    private double[]? _x, _dx;

    public OneEuroFilter(double rateHz, double minCutoffHz, double beta, double derivativeCutoffHz = 1.0)
    {
        _rate = rateHz; _minCutoff = minCutoffHz; _beta = beta; _dCutoff = derivativeCutoffHz;
    }

    public void Reset() { _x = null; _dx = null; }

    private double Alpha(double cutoff)
    {
        double tau = 1.0 / (2 * Math.PI * cutoff), te = 1.0 / _rate;
        return 1.0 / (1.0 + tau / te);
    }

    /// <summary>Filters one sample in place: values are (x, y) pairs; each pair is smoothed by its own speed.</summary>
    public void Filter(Span<double> values)
    {
        if (_x is null || _x.Length != values.Length)
        {
            _x = values.ToArray(); _dx = new double[values.Length];
            return;
        }
        double ad = Alpha(_dCutoff);
        for (int i = 0; i < values.Length; i += 2)
        {
            // speed of the point (x, y) rather than of each coordinate: isotropic smoothing
            double dxx = (values[i] - _x[i]) * _rate, dxy = (values[i + 1] - _x[i + 1]) * _rate;
            _dx![i] += ad * (dxx - _dx[i]);
            _dx[i + 1] += ad * (dxy - _dx[i + 1]);
            double speed = Math.Sqrt(_dx[i] * _dx[i] + _dx[i + 1] * _dx[i + 1]);
            double a = Alpha(_minCutoff + _beta * speed);
            _x[i] += a * (values[i] - _x[i]);
            _x[i + 1] += a * (values[i + 1] - _x[i + 1]);
            values[i] = _x[i]; values[i + 1] = _x[i + 1];
        }
    }
}
