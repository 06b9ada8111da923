// ShapePredictor: dlib's ensemble-of-regression-trees face landmark predictor (Kazemi & Sullivan
// 2014), read from dlib's own model file and run by our code.
// Requires: a model serialized by dlib's shape_predictor (e.g. Debian libdlib-data's
// shape_predictor_68_face_landmarks.dat), an IntensityImage, and a face box in dlib's convention.
// Guarantees: Predict returns what dlib::shape_predictor::operator() computes before its final
// rounding to whole pixels, to float rounding (same arithmetic, same order: samples outside the
// image read 0). PredictReference is the plain transcription of dlib's loops; Predict is the
// optimised path (flat arrays, SIMD leaf sums) and is tested against it. Thread-safe after Load.
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Vivify.Geometry;

namespace Vivify.Faces;

public sealed class ShapePredictor
{
    /// <summary>Where Debian's libdlib-data puts the 68-point model.</summary>
    public const string DebianModelPath = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

    private readonly float[] _initialShape;   // [2 * parts], normalised box coordinates
    private readonly int _levels, _trees, _splits, _leaves, _features, _dims;
    private readonly int[] _splitIdx1, _splitIdx2;  // [level, tree, split]
    private readonly float[] _splitThresh;          // [level, tree, split]
    private readonly float[] _leafValues;           // [level, tree, leaf, dims]
    private readonly int[] _anchor;                 // [level, feature]
    private readonly float[] _deltas;               // [level, feature, 2]

    public int PartCount => _dims / 2;
    public int CascadeLevels => _levels;
    public int TreesPerLevel => _trees;
    public int FeaturesPerLevel => _features;
    /// <summary>The model's mean shape in box-normalised coordinates ([0,1] x [0,1] spans the box).</summary>
    public ReadOnlySpan<float> InitialShape => _initialShape;

    private ShapePredictor(float[] initialShape, int levels, int trees, int splits, int features,
        int[] idx1, int[] idx2, float[] thresh, float[] leaves, int[] anchor, float[] deltas)
    {
        _initialShape = initialShape; _dims = initialShape.Length;
        _levels = levels; _trees = trees; _splits = splits; _leaves = splits + 1; _features = features;
        _splitIdx1 = idx1; _splitIdx2 = idx2; _splitThresh = thresh; _leafValues = leaves;
        _anchor = anchor; _deltas = deltas;
    }

    private static readonly Lazy<ShapePredictor> _default = new(() => Load(ModelPath));

    /// <summary>The model path: $VIVIFY_LANDMARK_MODEL if set, else Debian's.</summary>
    public static string ModelPath => Environment.GetEnvironmentVariable("VIVIFY_LANDMARK_MODEL") is { Length: > 0 } p ? p : DebianModelPath;

    /// <summary>The 68-point model, loaded once per process on first use.</summary>
    public static ShapePredictor Default => _default.Value;

    public static ShapePredictor Load(string path)
    {
        if (!File.Exists(path))
            throw new VivifyException(path, "landmark model not found (install Debian's libdlib-data, or set VIVIFY_LANDMARK_MODEL)");
        byte[] data = File.ReadAllBytes(path);
        try { return Parse(data); }
        catch (InvalidDataException e) { throw new VivifyException(path, $"not a dlib shape predictor model: {e.Message}"); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // one long loop: skip the slow first JIT tier
    internal static ShapePredictor Parse(ReadOnlySpan<byte> data)
    {
        var r = new DlibReader(data);
        long version = r.ReadSigned();
        if (version != 1) throw new InvalidDataException($"unsupported shape_predictor version {version}");
        float[] initial = r.ReadFloatColumn(1 << 16);
        int dims = initial.Length;
        if (dims == 0 || dims % 2 != 0) throw new InvalidDataException($"initial shape has {dims} values");

        int levels = r.ReadCount(1000, "cascade level");
        int trees = -1, splits = -1;
        int[] idx1 = [], idx2 = [];
        float[] thresh = [], leaves = [];
        for (int l = 0; l < levels; l++)
        {
            int nt = r.ReadCount(1 << 20, "tree");
            for (int t = 0; t < nt; t++)
            {
                int ns = r.ReadCount(1 << 16, "split");
                if (trees < 0)
                {
                    trees = nt; splits = ns;
                    idx1 = new int[levels * trees * splits]; idx2 = new int[idx1.Length]; thresh = new float[idx1.Length];
                    leaves = new float[(long)levels * trees * (splits + 1) * dims];
                }
                if (nt != trees || ns != splits) throw new InvalidDataException("trees of unequal shape are not supported");
                int sBase = (l * trees + t) * splits;
                for (int s = 0; s < ns; s++)
                {
                    idx1[sBase + s] = (int)Math.Min(r.ReadUnsigned(), int.MaxValue);
                    idx2[sBase + s] = (int)Math.Min(r.ReadUnsigned(), int.MaxValue);
                    thresh[sBase + s] = r.ReadFloat();
                }
                int nl = r.ReadCount(1 << 17, "leaf");
                if (nl != splits + 1) throw new InvalidDataException($"tree has {nl} leaves for {splits} splits");
                long lBase = (long)(l * trees + t) * nl * dims;
                for (int k = 0; k < nl; k++)
                {
                    float[] leaf = r.ReadFloatColumn(dims);
                    if (leaf.Length != dims) throw new InvalidDataException($"leaf has {leaf.Length} values, expected {dims}");
                    leaf.CopyTo(leaves.AsSpan((int)(lBase + k * dims), dims));
                }
            }
        }
        if (levels == 0 || trees <= 0) throw new InvalidDataException("model has no trees");

        int[] anchor = [];
        float[] deltas = [];
        int features = -1;
        if (r.ReadCount(levels, "anchor level") != levels) throw new InvalidDataException("anchor levels do not match cascade levels");
        for (int l = 0; l < levels; l++)
        {
            int nf = r.ReadCount(1 << 20, "anchor");
            if (features < 0) { features = nf; anchor = new int[levels * nf]; deltas = new float[levels * nf * 2]; }
            if (nf != features) throw new InvalidDataException("levels with unequal feature counts are not supported");
            for (int f = 0; f < nf; f++)
            {
                ulong a = r.ReadUnsigned();
                if (a >= (ulong)(dims / 2)) throw new InvalidDataException($"anchor index {a} out of range");
                anchor[l * nf + f] = (int)a;
            }
        }
        if (r.ReadCount(levels, "delta level") != levels) throw new InvalidDataException("delta levels do not match cascade levels");
        for (int l = 0; l < levels; l++)
        {
            if (r.ReadCount(1 << 20, "delta") != features) throw new InvalidDataException("delta count does not match anchor count");
            for (int f = 0; f < features; f++)
            {
                deltas[(l * features + f) * 2] = r.ReadFloat();
                deltas[(l * features + f) * 2 + 1] = r.ReadFloat();
            }
        }
        for (int i = 0; i < idx1.Length; i++)
            if (idx1[i] >= features || idx2[i] >= features) throw new InvalidDataException("split feature index out of range");
        return new ShapePredictor(initial, levels, trees, splits, features, idx1, idx2, thresh, leaves, anchor, deltas);
    }

    /// <summary>Predicts the landmarks for the face in <paramref name="box"/>.</summary>
    public PointD[] Predict(IntensityImage image, FaceBox box)
    {
        Span<float> shape = stackalloc float[_dims];
        Span<float> feats = stackalloc float[_features];
        Span<int> leafOffsets = stackalloc int[_trees];
        _initialShape.CopyTo(shape);
        double boxW = box.Right - box.Left, boxH = box.Bottom - box.Top;
        int imgW = image.Width, imgH = image.Height;
        byte[] pixels = image.Pixels;
        for (int level = 0; level < _levels; level++)
        {
            SimilarityLinearPart(_initialShape, shape, out float m00, out float m01, out float m10, out float m11);
            ReadOnlySpan<int> anchor = _anchor.AsSpan(level * _features, _features);
            ReadOnlySpan<float> deltas = _deltas.AsSpan(level * _features * 2, _features * 2);
            for (int i = 0; i < feats.Length; i++)
            {
                float dx = deltas[2 * i], dy = deltas[2 * i + 1];
                int a = anchor[i];
                float nx = (m00 * dx + m01 * dy) + shape[2 * a];
                float ny = (m10 * dx + m11 * dy) + shape[2 * a + 1];
                long px = (long)Math.Floor(boxW * nx + box.Left + 0.5);
                long py = (long)Math.Floor(boxH * ny + box.Top + 0.5);
                feats[i] = (ulong)px < (ulong)imgW && (ulong)py < (ulong)imgH ? pixels[py * imgW + px] : 0f;
            }
            // The features are fixed for the whole level, so every tree's leaf can be found first;
            // then the leaf vectors (scattered over a 65 MB table, mostly not in cache) are summed
            // in dlib's order while the next leaves are prefetched, keeping memory busy.
            int sBase = level * _trees * _splits;
            for (int t = 0; t < _trees; t++)
            {
                int s0 = sBase + t * _splits;
                int node = 0;
                while (node < _splits)
                    node = feats[_splitIdx1[s0 + node]] - feats[_splitIdx2[s0 + node]] > _splitThresh[s0 + node] ? 2 * node + 1 : 2 * node + 2;
                leafOffsets[t] = ((level * _trees + t) * _leaves + node - _splits) * _dims;
            }
            SumLeaves(shape, leafOffsets);
        }
        return ToImage(shape, box);
    }

    /// <summary>The plain transcription of dlib's loops (dlib/image_processing/shape_predictor.h), kept as the reference.</summary>
    internal PointD[] PredictReference(IntensityImage image, FaceBox box)
    {
        var shape = (float[])_initialShape.Clone();
        var feats = new float[_features];
        for (int level = 0; level < _levels; level++)
        {
            // extract_feature_pixel_values
            SimilarityLinearPart(_initialShape, shape, out float m00, out float m01, out float m10, out float m11);
            for (int i = 0; i < _features; i++)
            {
                int f = level * _features + i;
                float dx = _deltas[2 * f], dy = _deltas[2 * f + 1];
                int a = _anchor[f];
                float vx = m00 * dx + m01 * dy + shape[2 * a];
                float vy = m10 * dx + m11 * dy + shape[2 * a + 1];
                double ix = (box.Right - box.Left) * (double)vx + box.Left;
                double iy = (box.Bottom - box.Top) * (double)vy + box.Top;
                long px = (long)Math.Floor(ix + 0.5), py = (long)Math.Floor(iy + 0.5);
                bool inside = px >= 0 && py >= 0 && px < image.Width && py < image.Height;
                feats[i] = inside ? image.Pixels[py * image.Width + px] : 0;
            }
            // evaluate all the trees at this level of the cascade
            for (int t = 0; t < _trees; t++)
            {
                int s0 = (level * _trees + t) * _splits;
                int node = 0;
                while (node < _splits)
                {
                    if (feats[_splitIdx1[s0 + node]] - feats[_splitIdx2[s0 + node]] > _splitThresh[s0 + node]) node = 2 * node + 1;
                    else node = 2 * node + 2;
                }
                int leaf = node - _splits;
                int lBase = ((level * _trees + t) * _leaves + leaf) * _dims;
                for (int d = 0; d < _dims; d++) shape[d] += _leafValues[lBase + d];
            }
        }
        return ToImage(shape, box);
    }

    private static PointD[] ToImage(ReadOnlySpan<float> shape, FaceBox box)
    {
        var pts = new PointD[shape.Length / 2];
        double w = box.Right - box.Left, h = box.Bottom - box.Top;
        for (int i = 0; i < pts.Length; i++)
            pts[i] = new PointD(w * shape[2 * i] + box.Left, h * shape[2 * i + 1] + box.Top);
        return pts;
    }

    /// <summary>
    /// The linear part (scale x rotation) of dlib's find_similarity_transform(from, to), cast to float.
    /// dlib takes it from an SVD of the 2x2 covariance (Umeyama); in 2D that has the closed form
    /// c*R = [[p, -q], [q, p]] / sigma_from with p = cov00 + cov11, q = cov10 - cov01.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SimilarityLinearPart(ReadOnlySpan<float> from, ReadOnlySpan<float> to,
        out float m00, out float m01, out float m10, out float m11)
    {
        int n = from.Length / 2;
        double mfx = 0, mfy = 0, mtx = 0, mty = 0;
        for (int i = 0; i < n; i++) { mfx += from[2 * i]; mfy += from[2 * i + 1]; mtx += to[2 * i]; mty += to[2 * i + 1]; }
        mfx /= n; mfy /= n; mtx /= n; mty /= n;
        double sigma = 0, c00 = 0, c01 = 0, c10 = 0, c11 = 0;
        for (int i = 0; i < n; i++)
        {
            double fx = from[2 * i] - mfx, fy = from[2 * i + 1] - mfy;
            double tx = to[2 * i] - mtx, ty = to[2 * i + 1] - mty;
            sigma += fx * fx + fy * fy;
            c00 += tx * fx; c01 += tx * fy; c10 += ty * fx; c11 += ty * fy;
        }
        sigma /= n; c00 /= n; c01 /= n; c10 /= n; c11 /= n;
        double p = c00 + c11, q = c10 - c01;
        double scale = sigma != 0 ? 1.0 / sigma : 0;
        if (sigma == 0) { m00 = 1; m01 = 0; m10 = 0; m11 = 1; return; }
        m00 = (float)(p * scale); m01 = (float)(-q * scale); m10 = (float)(q * scale); m11 = (float)(p * scale);
    }

    private const int PrefetchDistance = 6;

    private unsafe void SumLeaves(Span<float> shape, ReadOnlySpan<int> offsets)
    {
        int lines = (_dims * sizeof(float) + 63) / 64;
        fixed (float* leaves = _leafValues)
        {
            for (int t = 0; t < offsets.Length; t++)
            {
                if (t + PrefetchDistance < offsets.Length && System.Runtime.Intrinsics.X86.Sse.IsSupported)
                {
                    byte* next = (byte*)(leaves + offsets[t + PrefetchDistance]);
                    for (int l = 0; l < lines; l++) System.Runtime.Intrinsics.X86.Sse.Prefetch0(next + 64 * l);
                }
                AddInPlace(shape, new ReadOnlySpan<float>(leaves + offsets[t], _dims));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddInPlace(Span<float> acc, ReadOnlySpan<float> add)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var accV = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(acc);
            var addV = System.Runtime.InteropServices.MemoryMarshal.Cast<float, Vector<float>>(add);
            for (int k = 0; k < accV.Length; k++) accV[k] += addV[k];
            i = accV.Length * Vector<float>.Count;
        }
        for (; i < acc.Length; i++) acc[i] += add[i];
    }
}
