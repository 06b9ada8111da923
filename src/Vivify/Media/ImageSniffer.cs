// ImageSniffer: tells an image's format and pixel size from its first bytes, before anything
// decodes it: JPEG (SOF marker), PNG (IHDR), WebP (VP8, VP8L, VP8X), AVIF and HEIC (their 'ftyp'
// brands, the largest 'ispe' extent); and whether its format can
// carry an alpha channel (PNG, WebP, TIFF). The file name and a declared content type are never
// trusted (the web app's uploads; MediaFile's size limit and alpha check).
// Guarantees: never decodes pixels and never reads past the buffer; null for anything else (or
// a header too damaged to give a size), so huge or hostile files are refused before decoding.
namespace Vivify.Media;

public static class ImageSniffer
{
    public sealed record Info(string Format, string Extension, int Width, int Height)
    {
        public long Pixels => (long)Width * Height;
    }

    public static Info? Sniff(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 24 && IsPng(b) && b[12] == (byte)'I' && b[13] == (byte)'H' && b[14] == (byte)'D' && b[15] == (byte)'R')
            return Sized("png", ".png", BigEndian32(b[16..]), BigEndian32(b[20..]));
        if (b.Length >= 4 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Jpeg(b);
        if (b.Length >= 30 && IsWebP(b)) return WebP(b);
        if (b.Length >= 16 && b[4..8].SequenceEqual("ftyp"u8)) return Heif(b);
        return null;
    }

    /// <summary>An ISO file's brands (its 'ftyp' box: the major brand, then the compatible ones, as far as the bytes
    /// given reach); empty for anything else.</summary>
    internal static string[] IsoBrands(ReadOnlySpan<byte> b)
    {
        if (b.Length < 16 || !b[4..8].SequenceEqual("ftyp"u8)) return [];
        int size = (int)Math.Min(b.Length, BigEndian32(b));
        var brands = new List<string>();
        for (int at = 8; at + 4 <= size; at += at == 8 ? 8 : 4)      // the major brand, its version, the compatible brands
            brands.Add(System.Text.Encoding.ASCII.GetString(b.Slice(at, 4)));
        return [.. brands];
    }

    /// <summary>The brands that say AVIF (a still, or an image sequence).</summary>
    internal static readonly string[] AvifBrands = ["avif", "avis"];

    /// <summary>The brands that say HEIC, a still in HEIF coded with HEVC (an iPhone's photo): one of them is among any such
    /// file's brands, which may also hold the general 'mif1'.</summary>
    internal static readonly string[] HeicBrands = ["heic", "heix", "heim", "heis"];

    /// <summary>An AVIF's or a HEIC's size: the largest image spatial extent ('ispe', in meta/iprp/ipco) of a file whose
    /// 'ftyp' brands say AVIF, else HEIC (a grid's whole picture is larger than its tiles); null for other ISO files (a
    /// video) or where the boxes are not within the bytes given.</summary>
    private static Info? Heif(ReadOnlySpan<byte> b)
    {
        long ftyp = BigEndian32(b);
        if (ftyp < 16 || ftyp > b.Length) return null;
        var brands = IsoBrands(b);
        bool avif = brands.Any(AvifBrands.Contains);
        if (!avif && !brands.Any(HeicBrands.Contains)) return null;
        long w = 0, h = 0;
        void Walk(ReadOnlySpan<byte> box, int depth)
        {
            for (int at = 0; at + 8 <= box.Length;)
            {
                long size = BigEndian32(box[at..]);
                if (size < 8 || at + size > box.Length) return;
                var type = box.Slice(at + 4, 4);
                var body = box.Slice(at + 8, (int)size - 8);
                if (type.SequenceEqual("meta"u8) && depth == 0 && body.Length >= 4) Walk(body[4..], 1);   // a full box
                else if ((type.SequenceEqual("iprp"u8) && depth == 1) || (type.SequenceEqual("ipco"u8) && depth == 2)) Walk(body, depth + 1);
                else if (type.SequenceEqual("ispe"u8) && depth == 3 && body.Length >= 12)
                {
                    long iw = BigEndian32(body[4..]), ih = BigEndian32(body[8..]);
                    if (iw * ih > w * h) (w, h) = (iw, ih);
                }
                at += (int)size;
            }
        }
        Walk(b[(int)ftyp..], 0);
        return avif ? Sized("avif", ".avif", w, h) : Sized("heic", ".heic", w, h);
    }

    /// <summary>PNG, WebP or TIFF by their first bytes: the formats that can carry an alpha channel.</summary>
    public static bool MayHaveAlpha(ReadOnlySpan<byte> b) => IsPng(b) || IsWebP(b) ||
        (b.Length >= 4 && ((b[0] == (byte)'I' && b[1] == (byte)'I' && b[2] == 42 && b[3] == 0) || (b[0] == (byte)'M' && b[1] == (byte)'M' && b[2] == 0 && b[3] == 42)));

    private static bool IsPng(ReadOnlySpan<byte> b) =>
        b.Length >= 8 && b[0] == 0x89 && b[1] == (byte)'P' && b[2] == (byte)'N' && b[3] == (byte)'G' && b[4] == 0x0D && b[5] == 0x0A && b[6] == 0x1A && b[7] == 0x0A;

    private static bool IsWebP(ReadOnlySpan<byte> b) => b.Length >= 12 && b[..4].SequenceEqual("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8);

    private static Info? Sized(string f, string ext, long w, long h) =>
        w is > 0 and < 1_000_000 && h is > 0 and < 1_000_000 ? new Info(f, ext, (int)w, (int)h) : null;

    private static long BigEndian32(ReadOnlySpan<byte> b) => (long)b[0] << 24 | (long)b[1] << 16 | (long)b[2] << 8 | b[3];

    private static Info? Jpeg(ReadOnlySpan<byte> b)
    {
        int i = 2;
        while (i + 4 <= b.Length)
        {
            if (b[i] != 0xFF) return null;
            byte m = b[i + 1];
            if (m == 0xFF) { i++; continue; }                 // fill bytes
            if (m is 0xD8 or 0x01 || (m >= 0xD0 && m <= 0xD7)) { i += 2; continue; }  // markers without a length
            int len = b[i + 2] << 8 | b[i + 3];
            if (len < 2) return null;
            // SOF0-SOF15 except DHT (C4), JPG (C8), DAC (CC): frame header with the size
            if (m >= 0xC0 && m <= 0xCF && m is not (0xC4 or 0xC8 or 0xCC))
            {
                if (i + 9 > b.Length) return null;
                return Sized("jpeg", ".jpg", b[i + 7] << 8 | b[i + 8], b[i + 5] << 8 | b[i + 6]);
            }
            if (m == 0xDA) return null;                       // scan data before a frame header
            i += 2 + len;
        }
        return null;
    }

    private static Info? WebP(ReadOnlySpan<byte> b)
    {
        var chunk = b[12..16];
        if (chunk.SequenceEqual("VP8 "u8))
        {
            // key frame: 3-byte tag, start code 9d 01 2a, then 14-bit width and height
            if (b[23] != 0x9D || b[24] != 0x01 || b[25] != 0x2A) return null;
            return Sized("webp", ".webp", (b[26] | b[27] << 8) & 0x3FFF, (b[28] | b[29] << 8) & 0x3FFF);
        }
        if (chunk.SequenceEqual("VP8L"u8))
        {
            if (b[20] != 0x2F) return null;
            uint bits = (uint)(b[21] | b[22] << 8 | b[23] << 16 | b[24] << 24);
            return Sized("webp", ".webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
        }
        if (chunk.SequenceEqual("VP8X"u8))
            return Sized("webp", ".webp", 1 + (b[24] | b[25] << 8 | b[26] << 16), 1 + (b[27] | b[28] << 8 | b[29] << 16));
        return null;
    }
}
