// PortraitAnimator: the product's main job as an API (TECHNIQUE.md stages 1-6, eyelids that
// cover the eyeball as they close: Eyes/, and a smile's teeth read between the portrait's inner
// lips: Faces/InnerLipFit): a portrait and an analysed driver in, full-resolution animated frames out.
// Requires: a BGR portrait with a face of at least MinFaceIod between the eyes; a DriverTrack.
// Guarantees: Render(i) gives output frame i at the portrait's full resolution; frame by frame,
// nothing but the portrait, the driver's points and its neutral frame (small, in the details
// stage's face space) is held, plus two output frames in flight in RenderAll, so memory does not
// grow with the driver's length. Faults the user can fix raise VivifyException naming the file.
// The portrait's own analysis (its face, the portrait-side stages) is PortraitSetup's; Open runs it before the
// driver's tracking, so a portrait that cannot be animated is refused at once.
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
        : this(PortraitSetup.Analyse(portrait, portraitName, detector, options ?? new AnimationOptions()), driver) { }

    /// <summary>Prepares the warp of an analysed portrait for a driver; takes over the set-up's stages (one animator per
    /// set-up) and disposes what it no longer needs. The options are the set-up's.</summary>
    public PortraitAnimator(PortraitSetup setup, DriverTrack driver)
    {
        ArgumentNullException.ThrowIfNull(setup);
        setup.Claim();
        Options = setup.Options;
        Driver = driver;
        _portrait = setup.Portrait;
        PortraitFaceCount = setup.FaceCount;
        PortraitFace = setup.Face;
        PortraitLandmarks = setup.Landmarks;
        EyesShown = setup.EyesShown;
        // the driver's frames are the model's readings, so the portrait is matched to them as the model reads it: a smile
        // the model reads closed gets a closed reference (the fitted teeth's gap let in franck's most open, mid-word
        // frame 0, whose raised brows then lowered audrey's into a frown on every other frame)
        NeutralFrame = Options.NeutralFrame ?? Animation.NeutralFrame.Choose(driver, PortraitFace.Landmarks);
        if (NeutralFrame < 0 || NeutralFrame >= driver.FrameCount)
        {
            setup.Dispose();
            throw new VivifyException(driver.Path, $"--neutral-frame {NeutralFrame} is outside the clip's {driver.FrameCount} frames");
        }
        var reference = setup.Reference;
        var pointOptions = EyesShown ? Options : Options with { BlinkDepth = false };
        using (setup)
            Points = new Correspondences(driver, reference, NeutralFrame, _portrait.Width, _portrait.Height, pointOptions, setup.Head);
        _mouth = setup.Mouth;
        _eyelids = setup.Eyelids;
        _widening = setup.Widening;
        if (Options.Details && Options.Detail.Strength != 0)
        {
            using var neutral = driver.ReadFrame(NeutralFrame);
            _details = new DetailTransfer(neutral, driver.Landmarks[NeutralFrame], reference, Options.Detail, _portrait);
        }
        var warpOptions = Options.Warp with { Smoothing = Options.Smoothing && Options.Warp.Smoothing };
        // a small portrait (diagonal under about 300 px) has a radius cap below the smallest blur
        // radius: the smallest radius comes down to the cap
        double cap = warpOptions.MaxRadiusPx(_portrait.Width, _portrait.Height);
        if (cap < warpOptions.MinRadiusPx) warpOptions = warpOptions with { MinRadiusPx = cap };
        _warp = new ConfidenceAwareWarp(_portrait.Width, _portrait.Height, Points.Reference, Points.IsFacial,
            warpOptions, Dlib68Mesh.ConstraintEdges());
    }

    /// <summary>The portrait analysed first (a second or so), then the driver tracked, then the animator: a portrait that
    /// cannot be animated (no face, no such --face, too small) is refused before a long driver is tracked to its end.
    /// (The two side by side saved 5% of the time before the first frame, 80 ms on a 10 s driver, and starved the
    /// portrait's parallel loops where the caller ran on a busy thread pool: 12-45 s under the test runner.)
    /// <paramref name="progress"/> gets the driver's frames done.</summary>
    public static PortraitAnimator Open(Mat portrait, string portraitName, string driverPath, FaceDetector detector,
        AnimationOptions options, DriverTrack.Options driverOptions, Action<int>? progress = null)
    {
        var setup = PortraitSetup.Analyse(portrait, portraitName, detector, options);
        DriverTrack driver;
        try { driver = DriverTrack.Analyse(driverPath, detector, driverOptions, progress); }
        catch { setup.Dispose(); throw; }
        return new PortraitAnimator(setup, driver);
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
