// WarpOptions: the tunable parameters of ConfidenceAwareWarp (TECHNIQUE.md section 4).
// Requires: nothing; Validate() checks the ranges and throws ArgumentException naming the field.
// Guarantees: immutable; Default is what the product pipeline uses. Lengths called "Px" are in
// full-resolution portrait pixels, "Fraction" ones are fractions of the portrait's diagonal.
//
// The smoothing radius r grows with the distance d (measured in the portrait, frame 0) from the
// face region: r(d) = MaxRadius * smoothstep(d / RampDistance), so r = 0 on the face and reaches
// the cap at RampDistance with zero slope. The field is blurred at Levels fixed radii spaced
// geometrically from MinRadiusPx to MaxRadius; a pixel whose r lies between two levels blends
// them (smoothstep weight); the exact field is blended with the smoothed one by
// w = smoothstep(r / MinRadiusPx), so the exact field is kept on the face and every transition
// is C1 (no seam, no kink).
namespace Vivify.Warping;

public sealed record WarpOptions
{
    /// <summary>Smooth the displacement field away from the face (false: pure piecewise-affine warp).</summary>
    public bool Smoothing { get; init; } = true;

    /// <summary>Radius of the smallest blur level, in full-resolution pixels.</summary>
    public double MinRadiusPx { get; init; } = 12;

    /// <summary>Largest smoothing radius (the cap), as a fraction of the image diagonal.</summary>
    public double MaxRadiusFraction { get; init; } = 0.08;

    /// <summary>Distance from the face region over which the radius ramps from 0 to the cap, as a fraction of the diagonal.</summary>
    public double RampDistanceFraction { get; init; } = 0.12;

    /// <summary>Number of fixed blur radii (levels) between MinRadiusPx and the cap.</summary>
    public int Levels { get; init; } = 6;

    /// <summary>The smoothed field is computed on a grid this many times coarser than the image (1 = full resolution).</summary>
    public int FieldScale { get; init; } = 4;

    /// <summary>
    /// Gauss-Seidel sweeps that move non-facial, non-border points of folded triangles back to
    /// their reference shape relative to their neighbours (0: keep every point as given).
    /// </summary>
    public int UntangleIterations { get; init; } = 10;

    /// <summary>
    /// How close a non-facial, non-border point may come to the trusted structure nearest it (the nearest mesh edge
    /// between facial or border points), relative to where its nearest trusted points' similarity puts it, as a
    /// share of its distance from that structure: the approach is unchanged up to half of this share, then
    /// compressed smoothly towards it (0: no limit). Sliding along the structure or away from it is free. A group
    /// of tracked points straying together folds the mesh in a way untangling alone cannot undo: cap13_edit2's
    /// driver tilting far back at 25.8 s slid his forehead points down over cage's brow, a fold with a jagged edge.
    /// At 0.8 the fold is gone (and no point can reach its structure) with self-reenactment unchanged: franck
    /// 20-30 s 27.30 dB / 0.643 px, cap12 0-12 s 30.65, cap13 27.86.
    /// </summary>
    public double StrayLimit { get; init; } = 0.8;

    /// <summary>How the portrait is resampled through the map (OpenCV's remap): Linear, Cubic or Lanczos4.</summary>
    /// (Linear measured best on eval self: cubic sharpens compression noise, -0.2 dB.)
    public OpenCvSharp.InterpolationFlags Interpolation { get; init; } = OpenCvSharp.InterpolationFlags.Linear;

    public static WarpOptions Default { get; } = new();

    public double MaxRadiusPx(int width, int height) => MaxRadiusFraction * Diagonal(width, height);
    public double RampDistancePx(int width, int height) => RampDistanceFraction * Diagonal(width, height);
    private static double Diagonal(int width, int height) => Math.Sqrt((double)width * width + (double)height * height);

    public void Validate(int width, int height)
    {
        if (!(MinRadiusPx > 0) || double.IsInfinity(MinRadiusPx)) throw new ArgumentException("MinRadiusPx must be positive", nameof(MinRadiusPx));
        if (!(MaxRadiusFraction > 0) || MaxRadiusFraction > 1) throw new ArgumentException("MaxRadiusFraction must be in (0, 1]", nameof(MaxRadiusFraction));
        if (!(RampDistanceFraction > 0) || RampDistanceFraction > 2) throw new ArgumentException("RampDistanceFraction must be in (0, 2]", nameof(RampDistanceFraction));
        if (Levels < 1 || Levels > 16) throw new ArgumentException("Levels must be in 1..16", nameof(Levels));
        if (UntangleIterations < 0 || UntangleIterations > 1000) throw new ArgumentException("UntangleIterations must be in 0..1000", nameof(UntangleIterations));
        if (!(StrayLimit >= 0) || double.IsInfinity(StrayLimit)) throw new ArgumentException("StrayLimit must be 0 or positive", nameof(StrayLimit));
        if (FieldScale < 1 || FieldScale > 16) throw new ArgumentException("FieldScale must be in 1..16", nameof(FieldScale));
        if (MaxRadiusPx(width, height) < MinRadiusPx) throw new ArgumentException("the radius cap is smaller than MinRadiusPx", nameof(MaxRadiusFraction));
    }
}
