// PortraitAnimator: the product's main job as an API (TECHNIQUE.md stages 1-6, eyelids that
// cover the eyeball as they close: Eyes/, and a smile's teeth read between the portrait's inner
// lips: Faces/InnerLipFit): a portrait and an analysed driver in, full-resolution animated frames out.
// Requires: a BGR portrait with a face of at least MinFaceIod between the eyes; a DriverTrack.
// Guarantees: Render(i) gives output frame i at the portrait's full resolution; frame by frame,
// nothing but the portrait, the driver's points and its neutral frame (small, in the details
// stage's face space) is held, plus two output frames in flight in RenderAll, so memory does not
// grow with the driver's length. Faults the user can fix raise VivifyException naming the file.
using OpenCvSharp;
using Vivify.Details;
using Vivify.Eyes;
using Vivify.Faces;
using Vivify.Geometry;
using Vivify.Media;
using Vivify.Mouth;
using Vivify.Warping;

namespace Vivify.Animation;

public sealed class PortraitAnimator : IDisposable
{
    private readonly Mat _portrait;
    private readonly ConfidenceAwareWarp _warp;
    private readonly MouthTransfer? _mouth;
    private readonly EyelidClosure? _eyelids;
    private readonly EyeWidening? _widening;
    private readonly DetailTransfer? _details;

    public DriverTrack Driver { get; }
    public AnimationOptions Options { get; }
    public Correspondences Points { get; }
    public Face PortraitFace { get; }
    public int PortraitFaceCount { get; }
    /// <summary>The portrait face's 68 landmarks as animated: the model's, with the inner lips on the teeth it showed (Faces/InnerLipFit).</summary>
    public PointD[] PortraitLandmarks { get; }
    public int NeutralFrame { get; }
    /// <summary>Whether the portrait shows its eyes (not behind sunglasses); if not, blinks and EyelidClosure are left out.</summary>
    public bool EyesShown { get; }
    public int FrameCount => Driver.FrameCount;
    public int Width => _portrait.Width;
    public int Height => _portrait.Height;

    /// <summary>Finds the portrait's face and prepares the warp. The portrait Mat is kept (not copied) until Dispose.</summary>
    public PortraitAnimator(Mat portrait, string portraitName, DriverTrack driver, FaceDetector detector, AnimationOptions? options = null)
    {
        Options = options ?? new AnimationOptions();
        Driver = driver;
        _portrait = portrait;
        var faces = detector.Detect(portrait);
        if (faces.Count == 0) throw new VivifyException(portraitName, "no face found in the portrait");
        if (Options.FaceIndex >= faces.Count)
            throw new VivifyException(portraitName, $"--face {Options.FaceIndex} asked for, but the portrait has {faces.Count} face(s) (0 is the largest)");
        PortraitFaceCount = faces.Count;
        PortraitFace = faces[Options.FaceIndex];
        double iod = PortraitFace.InterOcularDistance;
        if (iod < Options.MinFaceIod)
            throw new VivifyException(portraitName, $"the face is too small to animate: {iod:0} px between the eyes, at least {Options.MinFaceIod:0} px needed (use a larger or closer-cropped portrait)");
        // the model often reads a mouth that shows its teeth as closed: the teeth would be lip, stretched with it
        PortraitLandmarks = Options.InnerLipFit ? InnerLipFit.Refine(portrait, PortraitFace.Landmarks) : PortraitFace.Landmarks;
        // the driver's frames are the model's readings, so the portrait is matched to them as the model reads it: a smile
        // the model reads closed gets a closed reference (the fitted teeth's gap let in franck's most open, mid-word
        // frame 0, whose raised brows then lowered audrey's into a frown on every other frame)
        NeutralFrame = Options.NeutralFrame ?? Animation.NeutralFrame.Choose(driver, PortraitFace.Landmarks);
        if (NeutralFrame < 0 || NeutralFrame >= driver.FrameCount)
            throw new VivifyException(driver.Path, $"--neutral-frame {NeutralFrame} is outside the clip's {driver.FrameCount} frames");
        // A closed mouth's predicted inner lips often touch or cross; part them by a fraction of a
        // pixel so the lip contours stay separate constraint loops in the triangulation.
        var reference = Dlib68Mesh.SeparateInnerLips(PortraitLandmarks);
        // eyes behind sunglasses are not the portrait's to blink
        EyesShown = EyelidClosure.EyesShown(portrait, reference);
        var pointOptions = EyesShown ? Options : Options with { BlinkDepth = false };
        using (var head = Options.Expansion && Options.HeadOutline ? HeadRegion.Find(portrait, reference) : null)
            Points = new Correspondences(driver, reference, NeutralFrame, portrait.Width, portrait.Height, pointOptions, head);
        _mouth = Options.Mouth ? new MouthTransfer(portrait, reference) : null;
        _eyelids = Options.Eyelids && EyesShown ? new EyelidClosure(reference) : null;
        _widening = Options.EyeWidening && EyesShown ? new EyeWidening(portrait, reference) : null;
        if (Options.Details && Options.Detail.Strength != 0)
        {
            using var neutral = driver.ReadFrame(NeutralFrame);
            _details = new DetailTransfer(neutral, driver.Landmarks[NeutralFrame], reference, Options.Detail, portrait);
        }
        var warpOptions = Options.Warp with { Smoothing = Options.Smoothing && Options.Warp.Smoothing };
        // a small portrait (diagonal under about 300 px) has a radius cap below the smallest blur
        // radius: the smallest radius comes down to the cap
        double cap = warpOptions.MaxRadiusPx(portrait.Width, portrait.Height);
        if (cap < warpOptions.MinRadiusPx) warpOptions = warpOptions with { MinRadiusPx = cap };
        _warp = new ConfidenceAwareWarp(portrait.Width, portrait.Height, Points.Reference, Points.IsFacial,
            warpOptions, Dlib68Mesh.ConstraintEdges());
    }

    internal ConfidenceAwareWarp WarpStage => _warp;
    internal Mat Portrait => _portrait;
    internal MouthTransfer? MouthStage => _mouth;
    internal EyelidClosure? EyelidStage => _eyelids;
    internal EyeWidening? WideningStage => _widening;
    internal DetailTransfer? DetailStage => _details;

    /// <summary>The animated portrait's landmarks in frame i (where the warp puts the portrait's face).</summary>
    public PointD[] LandmarksAt(int i) => Points.Current(i)[..FaceLandmarks.Count];

    /// <summary>
    /// Renders output frame i into <paramref name="output"/> (allocated when empty). With the driver's
    /// frame i, fine-scale details are transferred and hidden regions are filled from it (the
    /// mouth interior); call in frame order then, as those stages smooth over time.
    /// </summary>
    public void Render(int i, Mat output, Mat? driverFrame = null)
    {
        var current = Points.Current(i);
        Warp(current, output);
        if (driverFrame is null) return;
        var face = current.AsSpan(0, FaceLandmarks.Count);
        _details?.Apply(output, face, driverFrame, Driver.Landmarks[i]);
        _mouth?.Apply(output, face.ToArray(), driverFrame, Driver.Landmarks[i]);
    }

    /// <summary>
    /// Renders every frame in order, decoding the driver's part again alongside (streaming) for the
    /// hidden-region stages. Each step yields the output, a buffer a later step reuses (copy it to
    /// keep it), and the driver's frame, disposed after the step. Two frames are in flight: while
    /// the caller's step and the order-dependent stages (details, mouth) run on this thread, a
    /// worker decodes the next driver frame, builds its warp map and resamples the portrait; the
    /// result is the same as calling Render frame by frame. A fault in the worker is rethrown here;
    /// leaving the loop early stops the worker.
    /// </summary>
    public IEnumerable<(int Index, Mat Output, Mat Driver)> RenderAll()
    {
        const int slots = 2;
        using var free = new System.Collections.Concurrent.BlockingCollection<Mat>(slots);
        using var ready = new System.Collections.Concurrent.BlockingCollection<(int Index, Mat Output, Mat Driver, PointD[] Face)>(slots);
        using var stop = new CancellationTokenSource();
        var buffers = Enumerable.Range(0, slots).Select(_ => new Mat()).ToArray();
        foreach (var b in buffers) free.Add(b);
        var worker = Task.Run(() =>
        {
            try
            {
                int i = 0;
                foreach (var vf in Driver.ReadFrames())
                {
                    if (i >= FrameCount) { vf.Dispose(); break; }
                    Mat output;
                    try { output = free.Take(stop.Token); }
                    catch { vf.Dispose(); throw; }
                    var current = Points.Current(i);
                    Warp(current, output);
                    try { ready.Add((i, output, vf.Image, current[..FaceLandmarks.Count]), stop.Token); }
                    catch { vf.Dispose(); throw; }
                    i++;
                }
            }
            finally { ready.CompleteAdding(); }
        });
        try
        {
            foreach (var (i, output, driverFrame, face) in ready.GetConsumingEnumerable())
            {
                using (driverFrame)
                {
                    _details?.Apply(output, face, driverFrame, Driver.Landmarks[i]);
                    _mouth?.Apply(output, face, driverFrame, Driver.Landmarks[i]);
                    yield return (i, output, driverFrame);
                }
                free.Add(output);
            }
            worker.GetAwaiter().GetResult();   // a decode or warp fault surfaces here
        }
        finally
        {
            stop.Cancel();
            try { worker.Wait(); } catch (AggregateException) { }
            while (ready.TryTake(out var left)) left.Driver.Dispose();
            foreach (var b in buffers) b.Dispose();
        }
    }

    /// <summary>The warp of the portrait to the current points, with lids that close over the eyeball (EyelidClosure).</summary>
    private void Warp(PointD[] current, Mat output)
    {
        _warp.Warp(current, _portrait, output);
        _eyelids?.Apply(_portrait, _warp.MapX, _warp.MapY, current, output);
        _widening?.Apply(_portrait, _warp.MapX, _warp.MapY, current, output);
    }

    /// <summary>How much mouth interior the last rendered frame showed (0..1; 0 without the mouth stage).</summary>
    public double MouthOpacity => _mouth?.LastAlpha ?? 0;

    public void Dispose() { _warp.Dispose(); _details?.Dispose(); }
}
