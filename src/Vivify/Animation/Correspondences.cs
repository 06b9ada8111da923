// Correspondences: the point sets the warp moves (TECHNIQUE.md stages 2 and 3).
// Facial points: p_i = l^T + A (l_i^V - l_0^V), A the linear part of the similarity S that maps
// the driver's neutral landmarks onto the portrait's (fitted on stable points), with the head's own
// in-plane motion H_i (a similarity on stable points, neutral to frame i) moved as a similarity
// rather than as offsets: p_i = S H_i (S^-1 l^T + H_i^-1 l_i^V - l_0^V), which keeps the portrait's
// face shape as the head turns (TECHNIQUE.md lays the head's motion on as offsets too; on a face of
// another shape those shear it). Where l^T = S l_0^V the two are the same. Expansion points:
// the driver's tracked points, placed in the portrait through S and moved by A times their own
// motion; those outside the portrait, very close to a landmark or crowded are dropped; those
// inside the portrait's landmark hull count as facial (trusted: flow on skin texture), the rest
// not. Brow band (with expansion): a facial point below each brow landmark, on the brow's lower
// edge, moving with it. Head outline (with expansion and a HeadRegion): points just outside the
// portrait's segmented head where no tracked point near its edge is near, moving with the nearest tracked
// points on the head and the jaw's outline (inverse-distance weights), so hair the driver's
// points do not reach moves with the head. Fixed points: a ring along the image border (and,
// without expansion, a ring around the face). --no-head-motion removes the driver's head
// similarity from the facial offsets and keeps expansion points still; with head motion (and
// expansion), the head's motion beyond what the portrait's framing takes is damped (HeadCorrection):
// the landmarks and, by the share of the head's motion each follows, the tracked points.
// Guarantees: Reference and Current(i) have the same length and order; the 68 landmarks first,
// then expansion, then the brow band, then the head outline, then fixed; fixed points never
// move; a tracked point on the face strays at most about twice StrayStartIod (or twice
// StrayRoomShare of its distance to the nearest landmark, where less) from where its
// landmark triangle puts it; without expansion the points are the plain baseline's (68
// landmarks, face ring, border). With BlinkDepth on, the animated lids close as far as the driver's
// eyes really do (the engine under-reads a shut eye; see Eyes/BlinkDepth) and never cross.
using Vivify.Eyes;
using Vivify.Faces;
using Vivify.Geometry;

namespace Vivify.Animation;

public sealed class Correspondences
{
    /// <summary>Eye corners, nose bridge and base, and the jaw near the ears: points that move with the head, not with expressions.</summary>
    public static readonly int[] StableIndices = [0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45];

    private readonly DriverTrack _driver;
    private readonly PointD[] _portrait;
    private readonly int _neutral;
    private readonly Similarity _align;
    private readonly bool _headMotion;
    private readonly int[] _expansion;          // indices into driver.Points kept
    private readonly PointD[] _band;            // below each brow landmark, moving with it (BrowIndices order)
    private readonly PointD[] _outline;         // just outside the portrait's head, moving with the driver's head
    private readonly PointD[] _fixed;
    private readonly int _width, _height;
    private readonly BlinkDepth? _blinks;       // closes the lids as far as the driver's (under-read) eyes close

    public PointD[] Reference { get; }
    public bool[] IsFacial { get; }
    public int ExpansionCount => _expansion.Length;
    public int FixedCount => _fixed.Length;
    public Similarity Alignment => _align;

    public Correspondences(DriverTrack driver, PointD[] portraitLandmarks, int neutralFrame, int width, int height, AnimationOptions opt,
        HeadRegion? head = null)
    {
        _driver = driver; _portrait = portraitLandmarks; _neutral = neutralFrame; _headMotion = opt.HeadMotion;
        _width = width; _height = height;
        _blinks = opt.BlinkDepth && portraitLandmarks.Length >= FaceLandmarks.Count ? new BlinkDepth(driver.Landmarks, driver.RawEyeOpenings, driver.Fps) : null;
        _align = Similarity.Fit(driver.Landmarks[neutralFrame], portraitLandmarks, StableIndices);
        double iod = FaceLandmarks.InterOcularDistance(portraitLandmarks);
        _band = opt.Expansion && opt.BrowBandFraction > 0 ? BrowBand(portraitLandmarks, opt.BrowBandFraction) : [];
        _expansion = opt.Expansion ? SelectExpansion(iod, opt) : [];
        _fixed = [.. BorderRing(width, height), .. opt.Expansion ? [] : FaceRing(portraitLandmarks, width, height)];
        var expansionRef = _expansion.Select(k => _align.Apply(driver.Points[k][neutralFrame])).ToArray();
        _outline = opt.Expansion && head is not null ? SelectOutline(head.Outline, [.. portraitLandmarks, .. expansionRef, .. _band], expansionRef, iod, opt, head) : [];
        Reference = [.. portraitLandmarks, .. expansionRef, .. _band, .. _outline, .. _fixed];
        // Tracked points on the face itself are as trustworthy as landmarks (flow on skin texture).
        var hull = ConvexHull(portraitLandmarks);
        IsFacial = [.. Enumerable.Repeat(true, portraitLandmarks.Length),
            .. Reference.Skip(portraitLandmarks.Length).Take(_expansion.Length).Select(q => InsidePolygon(hull, q)),
            .. Enumerable.Repeat(true, _band.Length),
            .. Enumerable.Repeat(false, _outline.Length),
            .. Enumerable.Repeat(false, _fixed.Length)];
        _anchor = Anchors(portraitLandmarks);
        _room = [.. Enumerable.Range(0, _expansion.Length).Select(e => portraitLandmarks.Min(l => PointD.Distance(l, Reference[portraitLandmarks.Length + e])))];
        // the face box (forehead included) and the room around it to the image's borders
        {
            double bx0 = portraitLandmarks.Min(p => p.X), bx1 = portraitLandmarks.Max(p => p.X);
            double by0 = portraitLandmarks.Min(p => p.Y) - 0.7 * iod, by1 = portraitLandmarks.Max(p => p.Y);
            _headBox = [new(bx0, by0), new(bx1, by0), new(bx0, by1), new(bx1, by1)];
            double room = Math.Max(0, new[] { bx0, by0, width - 1 - bx1, height - 1 - by1 }.Min()) / iod;
            // without expansion the points stay the plain baseline's: no damping
            HeadMotionBudgetIod = opt.Expansion ? opt.FramingBudgetIod + opt.FramingRoomShare * room : double.PositiveInfinity;
        }
        _portraitIod = iod;
        _driverFaceCentre = FaceLandmarks.Mean(driver.Landmarks[neutralFrame]);
        _followsHead = opt.HeadMotion ? FollowsHead() : new double[_expansion.Length];
        // tracked points off the face but on the portrait's head (hair, forehead above the brows): the outline follows them
        _onHead = [.. Enumerable.Range(0, _expansion.Length).Select(e =>
            head is not null && _anchor[e].A < 0 && head.Contains(Reference[portraitLandmarks.Length + e]))];
        _outlineSupport = OutlineSupport(portraitLandmarks.Length);
    }

    /// <summary>The head's motion in the driver from the neutral frame to frame i (a similarity on stable points).</summary>
    public Similarity HeadMotionAt(int i) => Similarity.Fit(_driver.Landmarks[_neutral], _driver.Landmarks[i], StableIndices);

    /// <summary>Where every point is in output frame i (clip frame index).</summary>
    public PointD[] Current(int i)
    {
        var cur = new PointD[Reference.Length];
        var l0 = _driver.Landmarks[_neutral];
        var li = _driver.Landmarks[i];
        // without head motion the head's similarity is undone; with it, the part beyond what the portrait's framing
        // can take is (HeadCorrection)
        var head = HeadMotionAt(i);
        Similarity undoHead = _headMotion ? HeadCorrection(head) : head.Inverse();
        // the landmarks: the driver's expression (its offsets with the head's motion undone) added to the portrait's
        // landmarks taken into the driver's frame, then moved rigidly by the head's (damped) motion. Offsets of a turning
        // head laid on a face of another shape would shear it (the portrait's wider jaw turned by the driver's narrower
        // one's offsets); a similarity keeps its shape. Where the portrait's landmarks are the aligned driver's (the
        // expansion points' case) this is the same as laying on the offsets.
        var moveHead = _headMotion ? undoHead.Compose(head) : Similarity.Identity;
        var undo = head.Inverse();
        var toDriver = _align.Inverse();
        for (int k = 0; k < _portrait.Length; k++)
            cur[k] = _align.Apply(moveHead.Apply(toDriver.Apply(_portrait[k]) + (undo.Apply(li[k]) - l0[k])));
        _blinks?.Apply(cur.AsSpan(0, _portrait.Length), i);
        int o = _portrait.Length;
        double iod = FaceLandmarks.InterOcularDistance(cur);
        for (int e = 0; e < _expansion.Length; e++)
        {
            var traj = _driver.Points[_expansion[e]];
            var ti = traj[i];
            if (_headMotion && _followsHead[e] > 0) ti = ti + _followsHead[e] * (undoHead.Apply(ti) - ti);
            var moved = _headMotion ? Reference[o + e] + _align.ApplyLinear(ti - traj[_neutral]) : Reference[o + e];
            if (_anchor[e] is var (a, b, c, wa, wb, wc) && a >= 0)
            {
                // a point on the face follows its own flow while that agrees with the landmarks around it;
                // where it strays (flow sliding on a cheek that turns away in depth) it is pulled back to
                // where the landmarks put it, or the skin between them would fold over
                var implied = wa * cur[a] + wb * cur[b] + wc * cur[c];
                double stray = PointD.Distance(moved, implied) / iod;
                // near a landmark the leeway shrinks with the room there: a point 6 px from the nose's base that strays
                // 4 px squeezes the skin between them into a sliver (a light line down chuck's philtrum at an "aah")
                double start = Math.Min(StrayStartIod, StrayRoomShare * _room[e] / _portraitIod);
                double w = Math.Clamp((stray - start) / start, 0, 1);
                moved = (1 - w) * moved + w * implied;
            }
            cur[o + e] = new PointD(Math.Clamp(moved.X, 1, _width - 2), Math.Clamp(moved.Y, 1, _height - 2));
        }
        o += _expansion.Length;
        for (int b = 0; b < _band.Length; b++) cur[o + b] = _band[b] + (cur[BrowIndices[b]] - _portrait[BrowIndices[b]]);
        o += _band.Length;
        for (int h = 0; h < _outline.Length; h++)
        {
            // the motion of the nearest points on the head (tracked hair, the jaw's outline), inverse-distance weighted
            var d = new PointD(0, 0);
            foreach (var (j, w) in _outlineSupport[h]) d = d + w * (cur[j] - Reference[j]);
            var q = _outline[h] + d;
            cur[o + h] = new PointD(Math.Clamp(q.X, 1, _width - 2), Math.Clamp(q.Y, 1, _height - 2));
        }
        o += _outline.Length;
        for (int f = 0; f < _fixed.Length; f++) cur[o + f] = _fixed[f];
        return cur;
    }

    // ---- the head's motion against the portrait's framing ----
    private readonly PointD[] _headBox;        // corners of the portrait's face box, forehead included
    private readonly double _portraitIod;
    private readonly PointD _driverFaceCentre;  // the driver's neutral landmarks' mean: the head motion's pivot
    private readonly double[] _followsHead;    // per expansion point: how much of the head's motion it follows (0-1)

    /// <summary>Head motion the portrait's framing takes without damping (IODs the face box's corners move; see
    /// AnimationOptions.FramingBudgetIod).</summary>
    public double HeadMotionBudgetIod { get; }

    /// <summary>
    /// A driver's head that moves further than the portrait's framing allows is damped: the face box's corners move at
    /// most the budget, softly (up to 1.5 times it as the motion grows). Returns the driver-space correction (the damped
    /// head motion after the real one undone); identity within the budget.
    /// </summary>
    private Similarity HeadCorrection(Similarity h)
    {
        var t = _align.Compose(h).Compose(_align.Inverse());
        double d = _headBox.Max(c => PointD.Distance(t.Apply(c), c)) / _portraitIod, b = HeadMotionBudgetIod;
        if (d <= b || double.IsInfinity(b)) return Similarity.Identity;
        double allowed = b + 0.5 * b * Math.Tanh((d - b) / (0.5 * b));
        return Damped(h, _driverFaceCentre, allowed / d).Compose(h.Inverse());
    }

    /// <summary>The similarity with its scale, turn and the pivot's shift taken to the power / share lambda.</summary>
    private static Similarity Damped(Similarity h, PointD pivot, double lambda)
    {
        double s = Math.Pow(h.Scale, lambda), a = lambda * h.RotationRadians;
        var shift = lambda * (h.Apply(pivot) - pivot);
        double A = s * Math.Cos(a), B = s * Math.Sin(a);
        // x -> pivot + shift + M (x - pivot)
        return new Similarity(A, B, pivot.X + shift.X - (A * pivot.X - B * pivot.Y), pivot.Y + shift.Y - (B * pivot.X + A * pivot.Y));
    }

    /// <summary>Per tracked point, the share of the driver's head motion it follows (least squares over the clip,
    /// clamped to 0-1): hair and face about 1, the background 0.</summary>
    private double[] FollowsHead()
    {
        var heads = Enumerable.Range(0, _driver.FrameCount).Select(HeadMotionAt).ToArray();
        var r = new double[_expansion.Length];
        for (int e = 0; e < _expansion.Length; e++)
        {
            var traj = _driver.Points[_expansion[e]];
            var q0 = traj[_neutral];
            double num = 0, den = 0;
            for (int i = 0; i < heads.Length; i++)
            {
                var hm = heads[i].Apply(q0) - q0; var m = traj[i] - q0;
                num += hm.X * m.X + hm.Y * m.Y; den += hm.X * hm.X + hm.Y * hm.Y;
            }
            r[e] = den > 1e-6 ? Math.Clamp(num / den, 0, 1) : 0;
        }
        return r;
    }

    private static readonly int[] BrowIndices = [17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
    /// <summary>The eye landmark under each brow landmark (BrowIndices order).</summary>
    private static readonly int[] EyeUnderBrow = [36, 36, 37, 38, 39, 42, 43, 44, 45, 45];

    /// <summary>
    /// The brows' lower edge: the brow landmarks trace a brow's upper edge, so a point a fraction of the
    /// way down to the eye under it, moving with the brow, carries the brow as a band instead of
    /// stretching it (the skin that stretches is the lid's, below it).
    /// </summary>
    private static PointD[] BrowBand(PointD[] lm, double fraction) =>
        [.. BrowIndices.Select((b, k) => lm[b] + fraction * (lm[EyeUnderBrow[k]] - lm[b]))];
    /// <summary>A face point straying this far (IODs) from where its landmark triangle puts it starts to be pulled back; twice this, fully.</summary>
    private const double StrayStartIod = 0.08;
    /// <summary>...or this share of its room (its distance to the nearest landmark in the portrait), where that is less.
    /// Self-reenactment, face PSNR / SSIM / AKD, with no room limit, 0.8, 0.5 and 0.3: franck 20-30 s 27.31 / 0.906 /
    /// 0.642, 27.28 / 0.906 / 0.638, 27.20 / 0.907 / 0.628, 27.16 / 0.908 / 0.638 px; cap13_edit2 (held out) 27.88 /
    /// 0.911 / 0.592, 0.589, 0.573, 27.89 / 0.912 / 0.536 px. At 0.3 the sliver down chuck's philtrum is gone.</summary>
    private const double StrayRoomShare = 0.3;
    private readonly double[] _room;
    private readonly bool[] _onHead;
    private readonly (int Index, double Weight)[][] _outlineSupport;

    /// <summary>Per outline point: the nearest few points on the head that move (the jaw's outline landmarks and tracked
    /// points on the head), with inverse-square-distance weights summing to 1.</summary>
    private (int, double)[][] OutlineSupport(int landmarkCount)
    {
        var support = Enumerable.Range(0, 17).Concat(Enumerable.Range(0, _expansion.Length).Where(e => _onHead[e]).Select(e => landmarkCount + e)).ToArray();
        int first = landmarkCount + _expansion.Length + _band.Length;
        var r = new (int, double)[_outline.Length][];
        for (int h = 0; h < _outline.Length; h++)
        {
            var q = Reference[first + h];
            var near = support.Select(j => (j, d2: Sq(Reference[j] - q))).OrderBy(t => t.d2).Take(OutlineNeighbours).ToArray();
            double sum = near.Sum(t => 1 / (t.d2 + 1));
            r[h] = [.. near.Select(t => (t.j, 1 / (t.d2 + 1) / sum))];
        }
        return r;
    }
    private const int OutlineNeighbours = 3;
    private static double Sq(PointD v) => v.X * v.X + v.Y * v.Y;
    private readonly (int A, int B, int C, double Wa, double Wb, double Wc)[] _anchor;

    /// <summary>Per expansion point inside the face: its landmark triangle and barycentric weights (A = -1 outside).</summary>
    private (int, int, int, double, double, double)[] Anchors(PointD[] landmarks)
    {
        var tris = Warping.Triangulation.Delaunay(landmarks);
        var r = new (int, int, int, double, double, double)[_expansion.Length];
        for (int e = 0; e < _expansion.Length; e++)
        {
            r[e] = (-1, 0, 0, 0, 0, 0);
            if (!IsFacial[landmarks.Length + e]) continue;
            var q = Reference[landmarks.Length + e];
            foreach (var (a, b, c) in tris)
                if (Warping.Triangulation.Barycentric(landmarks[a], landmarks[b], landmarks[c], q, out double la, out double lb, out double lc))
                { r[e] = (a, b, c, la, lb, lc); break; }
        }
        return r;
    }

    private int[] SelectExpansion(double iod, AnimationOptions opt)
    {
        var hull = ConvexHull(_portrait);
        var kept = new List<int>();
        var keptPos = new List<PointD>();
        for (int k = 0; k < _driver.Points.Count; k++)
        {
            var q = _align.Apply(_driver.Points[k][_neutral]);
            if (!AwayFromBorder(q, _width, _height)) continue;
            if (!opt.ExpansionInsideFace && InsidePolygon(hull, q)) continue;
            if (_portrait.Min(p => PointD.Distance(p, q)) < opt.ExpansionMinDistanceIod * iod) continue;
            if (_band.Any(p => PointD.Distance(p, q) < opt.ExpansionMinDistanceIod * iod)) continue;
            if (BrowIndices.Any(b => PointD.Distance(_portrait[b], q) < opt.ExpansionBrowClearanceIod * iod)) continue;
            if (keptPos.Any(p => PointD.Distance(p, q) < opt.ExpansionSpacingIod * iod)) continue;
            kept.Add(k); keptPos.Add(q);
        }
        return [.. kept];
    }

    /// <summary>The head outline's points that keep clear of the other moving points (a point crowding one would make a
    /// sliver triangle).</summary>
    private static PointD[] SelectOutline(PointD[] outline, PointD[] others, PointD[] tracked, double iod, AnimationOptions opt, HeadRegion head)
    {
        var edge = tracked.Where(p => head.DepthInside(p) <= OutlineEdgeDepthIod * iod).ToArray();
        return [.. outline.Where(q => others.All(p => PointD.Distance(p, q) >= opt.ExpansionMinDistanceIod * iod)
            && edge.All(p => PointD.Distance(p, q) >= OutlineClearanceIod * iod))];
    }
    /// <summary>Outline points are placed only where no tracked point near the head's edge lies within this distance
    /// (IODs): there the driver's own flow knows better how the head's edge moves (a turning head's silhouette moves
    /// less than its hair's texture). Measured (eval self franck.mp4 20-30 s, face PSNR): outline points everywhere
    /// 26.64 dB, clear of tracked points by 0.35 IOD 27.31, none 27.30.</summary>
    private const double OutlineClearanceIod = 0.35;
    /// <summary>Only tracked points within this depth (IODs) of the head's grown outline stand in for it: one deeper in
    /// the hair does not tell how the edge moves. audrey driven by cap13_edit2.mp4 leaning back (25.8 s) had lost the
    /// outline at the top-left corner of her hair to tracked points 0.3 IOD deep in it, and the corner, left to move
    /// with the still border, stuck out as a spike. Self-reenactment unchanged (franck, cap12_edit, cap13_edit2).</summary>
    private const double OutlineEdgeDepthIod = 0.25;

    /// <summary>Fixed points along the border, corners included, about every eighth of a side.</summary>
    public static PointD[] BorderRing(int width, int height, int perSide = 8)
    {
        var pts = new List<PointD>();
        double w = width - 1, h = height - 1;
        for (int i = 0; i < perSide; i++)
        {
            double t = (double)i / perSide;
            pts.Add(new PointD(t * w, 0)); pts.Add(new PointD(w, t * h));
            pts.Add(new PointD(w - t * w, h)); pts.Add(new PointD(0, h - t * h));
        }
        return [.. pts];
    }

    /// <summary>The plain baseline's fixed ring: 16 points around the face at 1.6 times its radius, those inside the image.</summary>
    public static PointD[] FaceRing(PointD[] face, int width, int height)
    {
        var c = FaceLandmarks.Mean(face);
        double r = 1.6 * face.Max(p => PointD.Distance(p, c));
        return [.. Enumerable.Range(0, 16).Select(k => new PointD(c.X + r * Math.Cos(k * Math.PI / 8), c.Y + r * Math.Sin(k * Math.PI / 8)))
            .Where(p => AwayFromBorder(p, width, height))];
    }

    /// <summary>True where a moving point may go: at least 2 % of the image's smaller side inside its border (the
    /// border ring is fixed; a moving point on it would tear the frame's edge).</summary>
    internal static bool AwayFromBorder(PointD p, int width, int height)
    {
        double m = 0.02 * Math.Min(width, height);
        return p.X >= m && p.Y >= m && p.X <= width - 1 - m && p.Y <= height - 1 - m;
    }

    internal static PointD[] ConvexHull(IReadOnlyList<PointD> pts)
    {
        var s = pts.OrderBy(p => p.X).ThenBy(p => p.Y).ToArray();
        if (s.Length < 3) return s;
        var hull = new List<PointD>();
        static double Cross(PointD o, PointD a, PointD b) => (a.X - o.X) * (b.Y - o.Y) - (a.Y - o.Y) * (b.X - o.X);
        foreach (var pass in new[] { s, s.Reverse().ToArray() })
        {
            int start = hull.Count;
            foreach (var p in pass)
            {
                while (hull.Count >= start + 2 && Cross(hull[^2], hull[^1], p) <= 0) hull.RemoveAt(hull.Count - 1);
                hull.Add(p);
            }
            hull.RemoveAt(hull.Count - 1);
        }
        return [.. hull];
    }

    internal static bool InsidePolygon(PointD[] poly, PointD p)
    {
        bool inside = false;
        for (int i = 0, j = poly.Length - 1; i < poly.Length; j = i++)
            if ((poly[i].Y > p.Y) != (poly[j].Y > p.Y) && p.X < (poly[j].X - poly[i].X) * (p.Y - poly[i].Y) / (poly[j].Y - poly[i].Y) + poly[i].X)
                inside = !inside;
        return inside;
    }
}
