// LandmarkSmoother: removes frame-to-frame jitter from 68-point landmark trajectories without
// lagging behind real motion. A 1-euro-style adaptive low-pass filter (Casiez et al., CHI 2012):
// each facial region (jaw, brows, nose, eyes, mouth) is filtered by an exponential smoother whose
// cut-off rises with how far the region's new points lie from their smoothed positions. Unlike
// the per-coordinate 1-euro filter, the speed is measured over a whole region and in units of
// the inter-ocular distance, so detector noise (a pixel, uncorrelated between points) keeps the
// cut-off low, while a head move or a mouth opening (correlated, several pixels) opens it fully.
// Requires: samples at a known frame rate, 68 points each. Guarantees: causal; the first sample
// passes unchanged; a still face is smoothed at MinCutoffHz; a region moving by more than
// FollowIod * IOD per frame passes unsmoothed (no lag).
using Vivify.Geometry;

namespace Vivify.Faces;

public sealed class LandmarkSmoother
{
    private static readonly int[][] Regions =
    [
        [.. Enumerable.Range(0, 17)], [.. Enumerable.Range(17, 10)], [.. Enumerable.Range(27, 9)],
        [.. Enumerable.Range(36, 12)], [.. Enumerable.Range(48, 20)],
    ];

    private readonly double _alphaRest, _restIod, _followIod;
    private PointD[]? _state;

    /// <param name="fps">frame rate</param>
    /// <param name="minCutoffHz">cut-off for a still face</param>
    /// <param name="restIod">region deviation (mean over its points, in IODs) still taken as noise</param>
    /// <param name="followIod">region deviation at which the filter passes the new points through</param>
    public LandmarkSmoother(double fps, double minCutoffHz = 0.5, double restIod = 0.012, double followIod = 0.05)
    {
        double tau = 1.0 / (2 * Math.PI * minCutoffHz);
        _alphaRest = 1.0 / (1.0 + tau * fps);
        _restIod = restIod; _followIod = followIod;
    }

    public void Reset() => _state = null;

    public PointD[] Filter(ReadOnlySpan<PointD> raw)
    {
        if (_state is null || _state.Length != raw.Length)
        {
            _state = raw.ToArray();
            return raw.ToArray();
        }
        double iod = Math.Max(1e-6, FaceLandmarks.InterOcularDistance(_state));
        foreach (var region in Regions)
        {
            double dev = 0;
            foreach (int i in region) dev += PointD.Distance(raw[i], _state[i]);
            dev /= region.Length * iod;
            double t = Math.Clamp((dev - _restIod) / (_followIod - _restIod), 0, 1);
            double alpha = _alphaRest + (1 - _alphaRest) * t * t * (3 - 2 * t);
            foreach (int i in region) _state[i] = _state[i] + alpha * (raw[i] - _state[i]);
        }
        return _state.ToArray();
    }
}
