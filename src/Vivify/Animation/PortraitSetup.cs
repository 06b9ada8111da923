// PortraitSetup: what the animation needs to know of the portrait alone, before any driver is seen: its face (the
// largest, or --face N), the landmarks as animated (Faces/InnerLipFit), whether its eyes show, its head region, and
// the portrait-side stages (mouth interior, eyelids, eye widening).
// Requires: a BGR portrait with a face of at least AnimationOptions.MinFaceIod between the eyes.
// Guarantees: Analyse raises VivifyException naming the portrait when it cannot be animated (no face, no such --face,
// too small), and reads nothing but the portrait, so a portrait that cannot be animated is refused before any driver is
// tracked (PortraitAnimator.Open).
// One PortraitAnimator takes a set-up over (its stages keep state from frame to frame); the portrait Mat is not copied.
using OpenCvSharp;
using Vivify.Eyes;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Mouth;
using Vivify.Warping;

namespace Vivify.Animation;

public sealed class PortraitSetup : IDisposable
{
    private bool _claimed;

    public required Mat Portrait { get; init; }
    public required AnimationOptions Options { get; init; }
    public required Face Face { get; init; }
    public required int FaceCount { get; init; }
    /// <summary>The face's 68 landmarks as animated: the model's, with the inner lips on the teeth it shows.</summary>
    public required PointD[] Landmarks { get; init; }
    /// <summary><see cref="Landmarks"/> with closed inner lips parted by a fraction of a pixel (the warp's reference).</summary>
    public required PointD[] Reference { get; init; }
    /// <summary>Whether the portrait shows its eyes (not behind sunglasses).</summary>
    public required bool EyesShown { get; init; }
    public HeadRegion? Head { get; init; }
    public MouthTransfer? Mouth { get; init; }
    public EyelidClosure? Eyelids { get; init; }
    public EyeWidening? Widening { get; init; }

    public static PortraitSetup Analyse(Mat portrait, string portraitName, FaceDetector detector, AnimationOptions options)
    {
        var faces = detector.Detect(portrait);
        if (faces.Count == 0) throw new VivifyException(portraitName, "no face found in the portrait");
        if (options.FaceIndex >= faces.Count)
            throw new VivifyException(portraitName, $"--face {options.FaceIndex} asked for, but the portrait has {faces.Count} face(s) (0 is the largest)");
        var face = faces[options.FaceIndex];
        double iod = face.InterOcularDistance;
        if (iod < options.MinFaceIod)
            throw new VivifyException(portraitName, $"the face is too small to animate: {iod:0} px between the eyes, at least {options.MinFaceIod:0} px needed (use a larger or closer-cropped portrait)");
        // the model often reads a mouth that shows its teeth as closed: the teeth would be lip, stretched with it
        var landmarks = options.InnerLipFit ? InnerLipFit.Refine(portrait, face.Landmarks) : face.Landmarks;
        // A closed mouth's predicted inner lips often touch or cross; part them by a fraction of a
        // pixel so the lip contours stay separate constraint loops in the triangulation.
        var reference = Dlib68Mesh.SeparateInnerLips(landmarks);
        // eyes behind sunglasses are not the portrait's to blink
        bool eyesShown = EyelidClosure.EyesShown(portrait, reference);
        return new PortraitSetup
        {
            Portrait = portrait, Options = options, Face = face, FaceCount = faces.Count,
            Landmarks = landmarks, Reference = reference, EyesShown = eyesShown,
            Head = options.Expansion && options.HeadOutline ? HeadRegion.Find(portrait, reference) : null,
            Mouth = options.Mouth ? new MouthTransfer(portrait, reference) : null,
            Eyelids = options.Eyelids && eyesShown ? new EyelidClosure(reference) : null,
            Widening = options.EyeWidening && eyesShown ? new EyeWidening(portrait, reference) : null,
        };
    }

    /// <summary>Marks the set-up as taken by an animator; a second claim is a programming error.</summary>
    internal void Claim()
    {
        if (_claimed) throw new InvalidOperationException("this portrait set-up is already used by an animator");
        _claimed = true;
    }

    public void Dispose() => Head?.Dispose();
}
