// FaceBox: an axis-aligned face rectangle in dlib's convention: Left, Top, Right, Bottom are
// inclusive pixel coordinates, so Width = Right - Left + 1. Boxes may reach outside the image.
namespace Vivify.Faces;

public readonly record struct FaceBox(int Left, int Top, int Right, int Bottom)
{
    public int Width => Right - Left + 1;
    public int Height => Bottom - Top + 1;
    public double CenterX => (Left + Right) / 2.0;
    public double CenterY => (Top + Bottom) / 2.0;
    public long Area => (long)Width * Height;

    /// <summary>Parses "l,t,r,b" (the CLI's --box); throws FormatException with a readable message.</summary>
    public static FaceBox Parse(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 4 || !parts.All(p => int.TryParse(p, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _)))
            throw new FormatException($"a box is four integers 'left,top,right,bottom', got '{text}'");
        var v = parts.Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (v[2] <= v[0] || v[3] <= v[1]) throw new FormatException($"box '{text}' is empty: right must exceed left and bottom must exceed top");
        return new FaceBox(v[0], v[1], v[2], v[3]);
    }

    public override string ToString() => $"[{Left}, {Top}, {Right}, {Bottom}]";
}
