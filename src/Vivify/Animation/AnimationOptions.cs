// AnimationOptions: what the user chooses for one animation (immutable).
using Vivify.Details;
using Vivify.Media;
using Vivify.Warping;

namespace Vivify.Animation;

public sealed record AnimationOptions
{
    /// <summary>The driver's neutral frame (index in the clip); null = chosen automatically.</summary>
    public int? NeutralFrame { get; init; }
    /// <summary>Which face of the portrait (0 = largest).</summary>
    public int FaceIndex { get; init; }
    /// <summary>Transfer the driver's head motion (off: expression only).</summary>
    public bool HeadMotion { get; init; } = true;
    /// <summary>Expand correspondences beyond the face with tracked non-facial points (ablation switch).</summary>
    public bool Expansion { get; init; } = true;
    /// <summary>Confidence-aware smoothing of the warp away from the face (ablation switch).</summary>
    public bool Smoothing { get; init; } = true;
    /// <summary>Fill the open mouth with the driver's mouth interior (ablation switch: --no-mouth).</summary>
    public bool Mouth { get; init; } = true;
    /// <summary>Move the portrait's inner lips onto the teeth it shows where the landmark model read the mouth as closed
    /// (Faces/InnerLipFit); without it a smile's teeth are lip to the warp.</summary>
    public bool InnerLipFit { get; init; } = true;
    /// <summary>Lids that come down cover the eyeball instead of squashing it (ablation switch: --no-eyelids).</summary>
    public bool Eyelids { get; init; } = true;
    /// <summary>A driver's shut eye shuts the portrait's, though the landmark engine reads it half open (Eyes/BlinkDepth;
    /// --no-eyelids turns this off too).</summary>
    public bool BlinkDepth { get; init; } = true;
    /// <summary>An eye that opens wider than the portrait's shows more of a round eyeball instead of a stretched one
    /// (Eyes/EyeWidening; --no-eyelids turns this off too).</summary>
    public bool EyeWidening { get; init; } = true;
    /// <summary>Transfer the driver's fine-scale details: wrinkles, folds (ablation switch: --no-details).</summary>
    public bool Details { get; init; } = true;
    /// <summary>The detail transfer's settings (strength: --details-strength).</summary>
    public DetailOptions Detail { get; init; } = new();
    /// <summary>Part of the driver, seconds.</summary>
    public double Start { get; init; }
    public double? Duration { get; init; }
    public long MaxPixels { get; init; } = MediaFile.DefaultMaxPixels;
    /// <summary>Smallest portrait face accepted, as the distance between the eye centres in pixels.</summary>
    public double MinFaceIod { get; init; } = 20;
    /// <summary>The warp's settings. With tracked points around the head the field needs less smoothing than the
    /// warp's own defaults: a smaller cap reached more gradually (measured on eval self: +0.1 dB over the frame).</summary>
    public WarpOptions Warp { get; init; } = WarpOptions.Default with { MaxRadiusFraction = 0.04, RampDistanceFraction = 0.25 };
    /// <summary>Expansion points closer than this to a facial landmark are dropped (in inter-ocular distances).</summary>
    public double ExpansionMinDistanceIod { get; init; } = 0.05;
    /// <summary>Expansion points closer than this to a brow landmark are dropped (in IODs): raised brows would sweep
    /// over them and squash the skin between into a visible seam.</summary>
    public double ExpansionBrowClearanceIod { get; init; } = 0.15;
    /// <summary>With expansion, points this fraction of the way from each brow landmark down to the eye move with the
    /// brow (0: none), so a raised brow keeps its thickness and the lid's skin stretches below it (eval cross, audrey
    /// driven by cap12_edit 0-12 s: brow raise read back 0.70 -> 0.77 of the driver's; eval self unchanged).</summary>
    public double BrowBandFraction { get; init; } = 0.25;
    /// <summary>With expansion, points just outside the portrait's head (face and hair, segmented), where no tracked point
    /// is near, move with the tracked points on the head, so a head that moves far carries all of its hair and the
    /// background stretches instead (see HeadRegion; audrey driven by cap13_edit2.mp4 leaning back: the top of her hair
    /// moved 122 px with it against 21 px without, her hair drawn up into a cone; eval self unchanged).</summary>
    public bool HeadOutline { get; init; } = true;
    /// <summary>Head motion the portrait's framing takes undamped, as the distance its face box's corners move (IODs):
    /// this plus <see cref="FramingRoomShare"/> times the room between the face box and the image's nearest border.
    /// Beyond it the driver's head motion (not its expression) is damped softly, to at most 1.5 times it: a tight crop
    /// has no picture beyond its face to move into view (cap13_edit2.mp4 leaning back to 0.72 of its size drew
    /// obama4_crop's and kim1_crop's foreheads and ears into cones). PositiveInfinity: never damped; never without
    /// expansion (the plain baseline).</summary>
    public double FramingBudgetIod { get; init; } = 0.25;
    public double FramingRoomShare { get; init; } = 0.5;
    /// <summary>Expansion points closer than this to one another are thinned out (in inter-ocular distances).</summary>
    public double ExpansionSpacingIod { get; init; } = 0.08;
    /// <summary>Also keep tracked points inside the face's landmark hull (cheeks, nose): measured to help (eval self).</summary>
    public bool ExpansionInsideFace { get; init; } = true;
}
