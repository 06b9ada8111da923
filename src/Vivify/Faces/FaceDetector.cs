// FaceDetector: finds faces and their 68 landmarks in an image.
// Requires: OpenCV's Haar cascades (Debian opencv-data) and the shape predictor.
// How: an OpenCV cascade proposes boxes (on a copy scaled down to at most DetectionMaxSide);
// each box is calibrated to the predictor: the cascade box is mapped to where dlib's HOG
// detector would put it, landmarks are predicted, the box is refitted from them the way the
// model expects (FaceLandmarks.BoxFor) and landmarks are predicted again, until the box settles.
// Guarantees: every face found, largest first; duplicates merged; candidates whose landmarks do
// not stay on the proposed box (false detections) are dropped. Thread-safe: no shared mutable
// state besides the cascade classifiers, which are used under a lock.
using OpenCvSharp;
using Vivify.Geometry;

namespace Vivify.Faces;

public sealed record FaceDetectorOptions
{
    /// <summary>Images are scaled down so their longer side is at most this for the cascade.</summary>
    public int DetectionMaxSide { get; init; } = 640;
    /// <summary>Smallest face side searched for, as a share of the (scaled) image's shorter side.</summary>
    public double MinFaceFraction { get; init; } = 0.08;
    public int MinNeighbors { get; init; } = 3;
    /// <summary>Box refit passes after the first prediction.</summary>
    public int RefitPasses { get; init; } = 3;
    /// <summary>Border added around the image before the cascade runs, as a share of its longer side.</summary>
    public double BorderPadding { get; init; } = 0.2;
    /// <summary>Smallest intensity standard deviation over the inner face for a detection to count.</summary>
    public double MinInnerFaceContrast { get; init; } = 12;
    /// <summary>Average the final landmarks over a few boxes around the refitted one.</summary>
    public bool BoxEnsemble { get; init; } = true;
    /// <summary>A face whose eye line is tilted further than this is read again in a view turned upright
    /// (<see cref="UprightView"/>); below it the model's upright reading is kept, as dlib gives it.</summary>
    public double TurnUprightAboveDegrees { get; init; } = 15;
    /// <summary>Largest spread of the landmarks over the box ensemble's boxes (root mean square, over the box's side) still
    /// taken as a face. Faces in the 37 sample images and 12 golden images spread 0.0026-0.025 (picasso's drawing 0.025, sean_guru2 0.024;
    /// vendetta's drawn mask 0.038); cascade finds on a skull mask, a numbered face diagram and the corners of turned images
    /// 0.046-0.074, a 42 px find on the curtain of audrey turned a quarter 0.032 (hence 'sure', <see cref="FaceDetector.Detect"/>).</summary>
    public double MaxLandmarkSpread { get; init; } = 0.04;
    /// <summary>The same limit for a face found by the turned search, read in its own upright view, which must also be
    /// found there by a cascade. Stricter: the search gives clutter seven more chances. Faces turned by 25-180 degrees
    /// spread 0.005-0.011 there; clutter on a test pattern 0.037-0.056.</summary>
    public double MaxTiltedLandmarkSpread { get; init; } = 0.02;
    /// <summary>Search a face-less image turned by <see cref="FaceDetector.TiltedSearchDegrees"/>.</summary>
    public bool FindTilted { get; init; } = true;
}

public sealed class FaceDetector : IDisposable
{
    public const string CascadeFolder = "/usr/share/opencv4/haarcascades";
    private static readonly string[] CascadeFiles = ["haarcascade_frontalface_alt2.xml", "haarcascade_frontalface_default.xml"];

    // Cascade box (x, y, w) to a dlib-like box: the Haar cascades' boxes sit a little high on the
    // face; this is only a starting point for the refit passes, which settle the box.
    private const double CascadeScale = 1.0, CascadeShiftX = 0.0, CascadeShiftY = 0.08;

    private readonly CascadeClassifier[] _cascades;
    private readonly object _lock = new();
    public ShapePredictor Predictor { get; }
    public FaceDetectorOptions Options { get; }

    public FaceDetector(ShapePredictor? predictor = null, FaceDetectorOptions? options = null)
    {
        Predictor = predictor ?? ShapePredictor.Default;
        Options = options ?? new FaceDetectorOptions();
        _cascades = CascadeFiles.Select(f =>
        {
            var path = Path.Combine(CascadeFolder, f);
            if (!File.Exists(path)) throw new VivifyException(path, "face cascade not found (install Debian's opencv-data)");
            var c = new CascadeClassifier(path);
            if (c.Empty()) throw new VivifyException(path, "face cascade could not be read");
            return c;
        }).ToArray();
    }

    /// <summary>All faces in a BGR (or grey) image, largest first. A face rolled beyond
    /// <see cref="FaceDetectorOptions.TurnUprightAboveDegrees"/> is read in a view turned upright. Where no face is found
    /// upright that is sure (its landmarks hold as still over the boxes as <see cref="FaceDetectorOptions.MaxTiltedLandmarkSpread"/>
    /// asks, or within <see cref="FaceDetectorOptions.MaxLandmarkSpread"/> and found again by a cascade on its crop), the image
    /// is searched turned by each of <see cref="TiltedSearchDegrees"/> and its finds are the answer; if that finds no face,
    /// the upright finds are kept as they are (a drawn mask, say, or a real face only just within the limits).</summary>
    /// <param name="findTilted">search turned images where no face is found upright (default: the options' <see cref="FaceDetectorOptions.FindTilted"/>);
    /// the search costs up to seven more detections</param>
    public IReadOnlyList<Face> Detect(Mat image, IntensityImage? intensity = null, bool? findTilted = null)
    {
        intensity ??= IntensityImage.FromMat(image);
        var faces = DetectUpright(image, intensity);
        // judged on the upright boxes, before a rolled face is read again; stops at the first sure find
        bool searchTilted = (findTilted ?? Options.FindTilted) && !faces.Any(f => IsSure(image, intensity, f.Box));
        double limit = Options.TurnUprightAboveDegrees * Math.PI / 180;
        for (int i = 0; i < faces.Count; i++)
            if (Math.Abs(UprightView.RollOf(faces[i].Landmarks)) > limit) faces[i] = ReadUpright(image, faces[i].Landmarks);
        if (!searchTilted) return faces;
        var tilted = DetectTilted(image);
        return tilted.Count > 0 ? tilted : faces;
    }

    /// <summary>Whether an upright find is surely a face: its landmarks hold as still over the boxes as the turned search
    /// demands, or they hold within <see cref="FaceDetectorOptions.MaxLandmarkSpread"/> and a cascade finds it again on its
    /// own crop. A find only just within that limit may be texture beside a face lying on its side (audrey turned 90
    /// degrees: a 16 px 'face' on the curtain, spread 0.032), so the turned search runs where no find is sure.</summary>
    private bool IsSure(Mat image, IntensityImage intensity, FaceBox box)
    {
        double spread = LandmarkSpread(intensity, box);
        return spread <= Options.MaxTiltedLandmarkSpread || (spread <= Options.MaxLandmarkSpread && ConfirmFace(image, box));
    }

    /// <summary>Faces found in the image turned by each of <see cref="TiltedSearchDegrees"/>. A face may be found at
    /// more than one turn, even upside down (the cascades take a face turned half round for one now and then); where finds
    /// overlap, the one whose landmarks hold stillest over the boxes is kept.</summary>
    private List<Face> DetectTilted(Mat image)
    {
        var found = new List<(Face Face, double Spread)>();
        var centre = new PointD((image.Width - 1) / 2.0, (image.Height - 1) / 2.0);
        double diagonal = Math.Sqrt((double)image.Width * image.Width + (double)image.Height * image.Height);
        foreach (double degrees in TiltedSearchDegrees)
        {
            using var turned = UprightView.Around(image, centre, degrees * Math.PI / 180, diagonal);
            foreach (var candidate in DetectUpright(turned.Image, null))
            {
                var face = ReadUpright(image, turned.ToImage(candidate.Landmarks), out double spread, out bool confirmed);
                if (spread > Options.MaxTiltedLandmarkSpread || !confirmed) continue;
                // a face the cascade found upright in the turned image is tilted about as far as it was turned; false
                // finds (often on the turned image's filled corners) read at any roll, or off the image
                double off = Math.Abs(Math.IEEERemainder(UprightView.RollOf(face.Landmarks) - degrees * Math.PI / 180, 2 * Math.PI));
                if (off > MaxTurnMismatchDegrees * Math.PI / 180 || !MostlyInImage(face.Landmarks, image)) continue;
                found.Add((face, spread));
            }
        }
        var faces = new List<Face>();
        foreach (var (face, _) in found.OrderBy(f => f.Spread))
            if (!faces.Any(f => SameFace(f.Box, face.Box))) faces.Add(face);
        faces.Sort((a, b) => b.Box.Area.CompareTo(a.Box.Area));
        return faces;
    }

    /// <summary>The turns (degrees, clockwise on screen) a face-less image is searched at: heads tilted as far as lying down,
    /// and a photo upside down. The cascades find faces within about 20 degrees of upright.</summary>
    public static readonly double[] TiltedSearchDegrees = [35, -35, 70, -70, 90, -90, 180];

    private const double MaxTurnMismatchDegrees = 25;

    // Finds of one face at different turns: boxes whose centres lie within half a box of each other (a face read upside
    // down sits off the real one by a third of its box or so).
    private static bool SameFace(FaceBox a, FaceBox b) =>
        PointD.Distance(new PointD(a.CenterX, a.CenterY), new PointD(b.CenterX, b.CenterY)) < 0.5 * Math.Max(a.Width, b.Width);

    private static bool MostlyInImage(PointD[] landmarks, Mat image) =>
        landmarks.Count(p => p.X >= 0 && p.Y >= 0 && p.X < image.Width && p.Y < image.Height) >= 0.8 * landmarks.Length;

    /// <summary>A face re-read in views turned upright by its roll (twice: the first view's landmarks give a better roll).</summary>
    private Face ReadUpright(Mat image, PointD[] landmarks) => ReadUpright(image, landmarks, out _, out _, check: false);

    /// <param name="spread">the last view's <see cref="LandmarkSpread"/></param>
    /// <param name="confirmed">whether a cascade finds the face in the last view (<see cref="ConfirmFace"/>)</param>
    private Face ReadUpright(Mat image, PointD[] landmarks, out double spread, out bool confirmed, bool check = true)
    {
        spread = double.NaN; confirmed = false;
        for (int pass = 0; pass < 2; pass++)
        {
            using var view = UprightView.AroundFace(image, landmarks, Predictor.InitialShape);
            var face = Calibrate(view.Intensity, FaceLandmarks.BoxFor(view.ToView(landmarks), Predictor.InitialShape), requireFace: false)!;
            if (pass == 1 && check)
            {
                spread = LandmarkSpread(view.Intensity, face.Box);
                confirmed = spread <= Options.MaxTiltedLandmarkSpread && ConfirmFace(view.Image, face.Box);
            }
            landmarks = view.ToImage(face.Landmarks);
        }
        return new Face(UprightView.BoxOf(landmarks, Predictor.InitialShape), landmarks);
    }

    private List<Face> DetectUpright(Mat image, IntensityImage? intensity)
    {
        intensity ??= IntensityImage.FromMat(image);
        var faces = new List<Face>();
        foreach (var box in ProposeBoxes(image))
        {
            var face = Calibrate(intensity, box);
            if (face is null) continue;
            if (faces.Any(f => Overlap(f.Box, face.Box) > 0.4)) continue;
            faces.Add(face);
        }
        faces.Sort((a, b) => b.Box.Area.CompareTo(a.Box.Area));
        return faces;
    }

    /// <summary>Landmarks for a face near <paramref name="startBox"/> (dlib convention), refitting the box to the model; null if <paramref name="requireFace"/> and the landmarks wander off the box or sit on a flat patch.</summary>
    public Face? Calibrate(IntensityImage intensity, FaceBox startBox, bool requireFace = true)
    {
        var box = startBox;
        var pts = Predictor.Predict(intensity, box);
        for (int pass = 0; pass < Options.RefitPasses; pass++)
        {
            var refit = FaceLandmarks.BoxFor(pts, Predictor.InitialShape);
            if (refit == box) break;
            box = refit;
            pts = Predictor.Predict(intensity, box);
        }
        // A real face keeps its refitted box close to the proposal; clutter makes landmarks drift.
        // A face has contrast (eyes, brows, mouth); flat or dark patches that fool a cascade do not.
        if (requireFace && (Overlap(box, startBox) < 0.3 || InnerFaceContrast(intensity, pts) < Options.MinInnerFaceContrast)) return null;
        if (Options.BoxEnsemble) pts = PredictOverBoxJitter(intensity, box);
        return new Face(box, pts);
    }

    // Averages predictions over boxes around the refitted one. The predictor's answer depends a
    // little on the box, and dlib's HOG boxes come on a coarse grid of sizes and positions; the
    // average sits nearer to what dlib's box would give than any single guess.
    internal PointD[] PredictOverBoxJitter(IntensityImage intensity, FaceBox box)
    {
        var acc = new PointD[FaceLandmarks.Count];
        foreach (var p in PredictOnBoxes(intensity, box, Jitter))
            for (int i = 0; i < acc.Length; i++) acc[i] += p[i];
        for (int i = 0; i < acc.Length; i++) acc[i] = (1.0 / Jitter.Length) * acc[i];
        return acc;
    }

    private static readonly (double Scale, double Dx, double Dy)[] Jitter =
        [(1, 0, 0), (1.1, 0, 0), (0.91, 0, 0), (1, 0.05, 0), (1, -0.05, 0), (1, 0, 0.05), (1, 0, -0.05)];

    /// <summary>How much the model's answer depends on the box: the root mean square distance of each point's answers
    /// over <see cref="SpreadBoxes"/> from their mean, over the box's side. On a face every box leads the model to the
    /// same points; on clutter that fooled a cascade each leads it somewhere else.</summary>
    internal double LandmarkSpread(IntensityImage intensity, FaceBox box)
    {
        var answers = PredictOnBoxes(intensity, box, SpreadBoxes).ToList();
        double sq = 0;
        for (int i = 0; i < FaceLandmarks.Count; i++)
        {
            var m = new PointD(answers.Average(p => p[i].X), answers.Average(p => p[i].Y));
            foreach (var p in answers) { var d = p[i] - m; sq += d.X * d.X + d.Y * d.Y; }
        }
        return Math.Sqrt(sq / (answers.Count * FaceLandmarks.Count)) / Math.Max(box.Right - box.Left, 1);
    }

    private static readonly (double Scale, double Dx, double Dy)[] SpreadBoxes =
        [.. Jitter, (1.2, 0, 0), (0.83, 0, 0), (1, 0.1, 0.1), (1, -0.1, -0.1)];

    private IEnumerable<PointD[]> PredictOnBoxes(IntensityImage intensity, FaceBox box, (double Scale, double Dx, double Dy)[] boxes)
    {
        double s = box.Right - box.Left;
        foreach (var (ds, dx, dy) in boxes)
        {
            double size = s * ds, cx = box.CenterX + dx * s, cy = box.CenterY + dy * s;
            int l = (int)Math.Round(cx - size / 2), t = (int)Math.Round(cy - size / 2), z = (int)Math.Round(size);
            yield return Predictor.Predict(intensity, new FaceBox(l, t, l + z, t + z));
        }
    }

    /// <summary>Cascade proposals mapped to dlib-like boxes, in full-image pixels.</summary>
    internal List<FaceBox> ProposeBoxes(Mat image)
    {
        double scale = Math.Min(1.0, (double)Options.DetectionMaxSide / Math.Max(image.Width, image.Height));
        using var gray = Grey(image);
        using var small = new Mat();
        if (scale < 1) Cv2.Resize(gray, small, new Size(Math.Max(1, (int)Math.Round(image.Width * scale)), Math.Max(1, (int)Math.Round(image.Height * scale))), 0, 0, InterpolationFlags.Area);
        else gray.CopyTo(small);
        Cv2.EqualizeHist(small, small);
        // Pad so faces that fill the frame or reach past its border are still found.
        int pad = (int)Math.Round(Math.Max(small.Width, small.Height) * Options.BorderPadding);
        using var padded = new Mat();
        Cv2.CopyMakeBorder(small, padded, pad, pad, pad, pad, BorderTypes.Replicate);
        int minSide = Math.Max(20, (int)(Math.Min(small.Width, small.Height) * Options.MinFaceFraction));
        var boxes = new List<FaceBox>();
        lock (_lock)
        {
            foreach (var cascade in _cascades)
            {
                var rects = cascade.DetectMultiScale(padded, 1.1, Options.MinNeighbors, HaarDetectionTypes.ScaleImage, new Size(minSide, minSide));
                foreach (var r in rects.OrderByDescending(r => r.Width * r.Height))
                {
                    // Padding finds faces cut by the border, but a face mostly in the padding is an artefact.
                    var inside = r.Intersect(new Rect(pad, pad, small.Width, small.Height));
                    if (inside.Width * inside.Height < 0.5 * r.Width * r.Height) continue;
                    double w = r.Width / scale * CascadeScale;
                    double cx = (r.X - pad + r.Width / 2.0) / scale + CascadeShiftX * w;
                    double cy = (r.Y - pad + r.Height / 2.0) / scale + CascadeShiftY * w;
                    int l = (int)Math.Round(cx - w / 2), t = (int)Math.Round(cy - w / 2), s = (int)Math.Round(w);
                    boxes.Add(new FaceBox(l, t, l + s, t + s));
                }
                if (boxes.Count > 0) break; // the second cascade is a fallback for faces the first misses
            }
        }
        return boxes;
    }

    /// <summary>A grey copy of a grey, BGR or BGRA image.</summary>
    private static Mat Grey(Mat image)
    {
        var gray = new Mat();
        if (image.Channels() == 1) image.CopyTo(gray);
        else Cv2.CvtColor(image, gray, image.Channels() == 4 ? ColorConversionCodes.BGRA2GRAY : ColorConversionCodes.BGR2GRAY);
        return gray;
    }

    /// <summary>Standard deviation of the intensity over the inner face (eye corners to mouth), in grey levels.</summary>
    internal static double InnerFaceContrast(IntensityImage img, PointD[] pts)
    {
        double minX = Math.Min(pts[36].X, pts[48].X), maxX = Math.Max(pts[45].X, pts[54].X);
        double minY = Math.Min(pts[19].Y, pts[24].Y), maxY = Math.Max(pts[57].Y, pts[8].Y * 0.5 + pts[57].Y * 0.5);
        int x0 = Math.Clamp((int)minX, 0, img.Width - 1), x1 = Math.Clamp((int)maxX, 0, img.Width - 1);
        int y0 = Math.Clamp((int)minY, 0, img.Height - 1), y1 = Math.Clamp((int)maxY, 0, img.Height - 1);
        if (x1 <= x0 || y1 <= y0) return 0;
        int step = Math.Max(1, Math.Min(x1 - x0, y1 - y0) / 40);
        double s = 0, s2 = 0; int n = 0;
        for (int y = y0; y <= y1; y += step)
            for (int x = x0; x <= x1; x += step) { double v = img.Pixels[y * img.Width + x]; s += v; s2 += v * v; n++; }
        double m = s / n;
        return Math.Sqrt(Math.Max(0, s2 / n - m * m));
    }

    /// <summary>Whether a cascade finds a face overlapping <paramref name="box"/> in the region around it (a cheap check for trackers).</summary>
    public bool ConfirmFace(Mat image, FaceBox box)
    {
        int side = box.Width;
        var roi = new Rect(box.Left - side / 2, box.Top - side / 2, side * 2, side * 2).Intersect(new Rect(0, 0, image.Width, image.Height));
        if (roi.Width < 24 || roi.Height < 24) return false;
        using var crop = new Mat(image, roi);
        using var gray = Grey(crop);
        double scale = Math.Min(1.0, 200.0 / Math.Max(roi.Width, roi.Height));
        using var small = new Mat();
        Cv2.Resize(gray, small, new Size(), scale, scale, InterpolationFlags.Area);
        Cv2.EqualizeHist(small, small);
        int minSide = Math.Max(16, (int)(side * scale * 0.5));
        lock (_lock)
        {
            foreach (var cascade in _cascades)
                foreach (var r in cascade.DetectMultiScale(small, 1.1, 2, HaarDetectionTypes.ScaleImage, new Size(minSide, minSide)))
                {
                    int l = (int)(r.X / scale) + roi.X, t = (int)(r.Y / scale) + roi.Y;
                    var found = new FaceBox(l, t, l + (int)(r.Width / scale), t + (int)(r.Height / scale));
                    if (Overlap(found, box) > 0.25) return true;
                }
        }
        return false;
    }

    /// <summary>Intersection over union of two boxes.</summary>
    public static double Overlap(FaceBox a, FaceBox b)
    {
        double iw = Math.Min(a.Right, b.Right) - Math.Max(a.Left, b.Left) + 1;
        double ih = Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Top, b.Top) + 1;
        if (iw <= 0 || ih <= 0) return 0;
        double inter = iw * ih;
        return inter / (a.Area + b.Area - inter);
    }

    public void Dispose() { foreach (var c in _cascades) c.Dispose(); }
}
