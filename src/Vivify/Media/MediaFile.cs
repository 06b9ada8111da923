// MediaFile: opens the user's images and videos with clear errors.
// Requires: OpenCV (OpenCvSharp) with its FFmpeg video backend; the ffmpeg program for AVIF and JPEG XL images and
// libheif's heif-convert for HEIC (both installed by the set-up), which OpenCV does not read.
// Guarantees: every failure is a VivifyException naming the file and the problem (missing, empty,
// not an image or video, no decodable frame, too many pixels); images come back as 8-bit BGR, turned
// upright by their EXIF orientation (a phone's sideways shot), a transparent image (PNG, WebP or
// TIFF with alpha: a cut-out portrait) laid over white.
// ScaleToFit makes the smaller copy a large portrait is animated at (area interpolation).
// Probe calls an animated GIF (two frames or more) a video and a still GIF an image; an MP4 container with no
// video track (an .m4a) that OpenCV cannot open is named as sound only rather than as damaged.
using OpenCvSharp;

namespace Vivify.Media;

public enum MediaKind { Image, Video }

/// <summary>A video's sound: its codec, and where its first picture lies on the file's timeline (seconds).</summary>
public sealed record SoundTrack(string Codec, double VideoStartSeconds);

public static class MediaFile
{
    /// <summary>Default largest image accepted, in pixels (about 100 megapixels: ~300 MB as BGR).</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>Tells an image from a video by content, not by extension.</summary>
    public static MediaKind Probe(string path)
    {
        CheckReadable(path);
        // OpenCV reads a GIF as a still (its first frame); one of several frames is a short video (a reaction GIF)
        if (Cv2.HaveImageReader(path) && GifFrames(path) < 2) return MediaKind.Image;
        // a phone's or a browser's modern still (AVIF, HEIC, JPEG XL): OpenCV reads none, its video reader opens AVIF
        if (ForeignStill(Head(path)) is not null) return MediaKind.Image;
        using var cap = OpenCapture(path);
        if (cap.FrameWidth <= 0 || cap.FrameHeight <= 0) throw new VivifyException(path, "not an image or a video that can be read (no picture found in it)");
        return MediaKind.Video;
    }

    /// <summary>
    /// A new copy of <paramref name="image"/> scaled (area interpolation) so that its longer side is at most
    /// <paramref name="maxSide"/>; never enlarged. With <paramref name="evenSides"/> each side is then rounded down to
    /// an even number (at least 2), as H.264's yuv420p wants, even where the image already fits.
    /// </summary>
    public static Mat ScaleToFit(Mat image, int maxSide, bool evenSides = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSide, 1);
        double s = Math.Min(1.0, maxSide / (double)Math.Max(image.Width, image.Height));
        int w = (int)Math.Round(image.Width * s), h = (int)Math.Round(image.Height * s);
        (w, h) = evenSides ? (Math.Max(2, w & ~1), Math.Max(2, h & ~1)) : (Math.Max(1, w), Math.Max(1, h));
        var r = new Mat();
        Cv2.Resize(image, r, new Size(w, h), 0, 0, InterpolationFlags.Area);
        return r;
    }

    public static Mat LoadImage(string path, long maxPixels = DefaultMaxPixels)
    {
        CheckReadable(path);
        var head = Head(path);
        bool opencv = Cv2.HaveImageReader(path);
        var foreign = opencv ? null : ForeignStill(head);
        if (!opencv && foreign is null) throw new VivifyException(path, "not an image format that can be read (use JPEG, PNG, WebP, BMP, TIFF, AVIF, JPEG XL or HEIC)");
        // the size from the header, before anything decodes (a still OpenCV does not read is only sniffed)
        var (w, h) = opencv ? ImageSize(path, head) : ImageSniffer.Sniff(head) is { } info ? (info.Width, info.Height) : (0, 0);
        if (w > 0 && (long)w * h > maxPixels) throw PixelLimit(path, w, h, maxPixels, fromHeader: true);
        if (foreign is not null) return foreign == "HEIC" ? DecodeHeic(path, maxPixels) : DecodeWithFfmpeg(path, foreign, maxPixels);
        var m = Cv2.ImRead(path, ImreadModes.Color);
        if (m.Empty()) { m.Dispose(); throw new VivifyException(path, "image could not be decoded (corrupt or truncated file)"); }
        if ((long)m.Width * m.Height > maxPixels)
        {
            var e = PixelLimit(path, m.Width, m.Height, maxPixels, fromHeader: false);
            m.Dispose();
            throw e;
        }
        if (ImageSniffer.MayHaveAlpha(head))
        {
            using var raw = Cv2.ImRead(path, ImreadModes.Unchanged);
            if (!raw.Empty() && raw.Channels() == 4 && raw.Size() == m.Size()) LayOverWhite(m, raw);
        }
        return m;
    }

    /// <summary>
    /// A cut-out portrait's transparent pixels keep whatever colour the editor left under them (often black); without
    /// their alpha they would show as a black or ragged backdrop. <paramref name="bgr"/> (8-bit, the colour read of the
    /// file) becomes the picture laid over white by the alpha of <paramref name="raw"/> (the file's own channels, any depth).
    /// </summary>
    private static void LayOverWhite(Mat bgr, Mat raw)
    {
        // row by row, in place: no full-size floating-point copies of a large image
        using var a = raw.ExtractChannel(3);
        if (a.Depth() != MatType.CV_8U) a.ConvertTo(a, MatType.CV_8U, a.Depth() == MatType.CV_16U ? 1 / 257.0 : 255);
        int w = bgr.Width;
        Parallel.For(0, bgr.Height, y =>
        {
            Span<byte> px; ReadOnlySpan<byte> al;
            unsafe { px = new Span<byte>((byte*)bgr.Ptr(y), 3 * w); al = new ReadOnlySpan<byte>((byte*)a.Ptr(y), w); }
            for (int x = 0; x < w; x++)
            {
                int k = al[x];
                if (k == 255) continue;
                for (int c = 0; c < 3; c++) px[3 * x + c] = (byte)((px[3 * x + c] * k + 255 * (255 - k) + 127) / 255);
            }
        });
    }

    /// <summary>The file's first bytes: enough for a JPEG's frame header after its EXIF block and colour profile.</summary>
    private static byte[] Head(string path)
    {
        using var f = File.OpenRead(path);
        var head = new byte[(int)Math.Min(f.Length, HeadBytes)];
        f.ReadExactly(head);
        return head;
    }

    private const int HeadBytes = 256 * 1024;

    /// <summary>The pixel size from the header (ImageSniffer), else from a decode at 1/8 size (0,0 when unknown).</summary>
    private static (int W, int H) ImageSize(string path, ReadOnlySpan<byte> head)
    {
        if (ImageSniffer.Sniff(head) is { } info) return (info.Width, info.Height);
        try
        {
            // IMREAD_REDUCED_GRAYSCALE_8 decodes at 1/8 size: cheap, and the size scales back.
            using var m = Cv2.ImRead(path, ImreadModes.ReducedGrayscale8);
            return m.Empty() ? (0, 0) : (m.Width * 8, m.Height * 8);
        }
        catch (OpenCVException) { return (0, 0); }
    }

    /// <summary>
    /// A video's first sound stream, or null when it has none or when ffprobe cannot tell (not installed, or not a
    /// container it reads). <see cref="SoundTrack.VideoStartSeconds"/> is where the first picture lies on the file's
    /// timeline (a phone clip's picture may start a little after its sound): cut the sound for picture frame i
    /// from VideoStartSeconds + i / fps.
    /// </summary>
    public static SoundTrack? Sound(string path)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("ffprobe") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-v", "error", "-show_entries", "stream=codec_type,codec_name,start_time:format=start_time", "-of", "json", path })
            psi.ArgumentList.Add(a);
        try
        {
            using var p = System.Diagnostics.Process.Start(psi);
            if (p is null) return null;
            _ = p.StandardError.ReadToEndAsync();
            var json = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(30000)) { p.Kill(); return null; }
            if (p.ExitCode != 0) return null;
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            static double Start(System.Text.Json.JsonElement e) =>
                e.TryGetProperty("start_time", out var t) && double.TryParse(t.GetString(), System.Globalization.NumberStyles.Float,
                    System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0;
            var streams = doc.RootElement.TryGetProperty("streams", out var st) ? st.EnumerateArray().ToList() : [];
            string? Kind(System.Text.Json.JsonElement e) => e.TryGetProperty("codec_type", out var k) ? k.GetString() : null;
            var audio = streams.FirstOrDefault(e => Kind(e) == "audio");
            if (audio.ValueKind == System.Text.Json.JsonValueKind.Undefined) return null;
            var codec = audio.TryGetProperty("codec_name", out var c) ? c.GetString() : null;
            if (string.IsNullOrEmpty(codec) || codec == "unknown") return null;
            var video = streams.FirstOrDefault(e => Kind(e) == "video");
            double fileStart = doc.RootElement.TryGetProperty("format", out var f) ? Start(f) : 0;
            double videoStart = video.ValueKind == System.Text.Json.JsonValueKind.Undefined ? 0 : Math.Max(0, Start(video) - fileStart);
            return new SoundTrack(codec, videoStart);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or System.Text.Json.JsonException or InvalidOperationException) { return null; }
    }

    internal static VideoCapture OpenCapture(string path)
    {
        CheckReadable(path);
        var cap = new VideoCapture(path, VideoCaptureAPIs.FFMPEG);
        if (!cap.IsOpened())
        {
            cap.Dispose();
            var head = Head(path);
            throw new VivifyException(path, ContainerName(head) is not { } kind ? "not an image or a video that can be read"
                : kind == Mp4 && Mp4HasVideoTrack(path) == false ? "an MP4/M4A file without a video track (sound only?)"
                : $"{kind} that cannot be read: truncated or damaged (an unfinished download or recording?)");
        }
        return cap;
    }

    /// <summary>What a file's first bytes say it is, for a clearer error where it cannot be opened: an MP4/MOV
    /// ('ftyp' box) or a WebM/Matroska (EBML header); null for anything else.</summary>
    internal static string? ContainerName(ReadOnlySpan<byte> head) =>
        head.Length >= 8 && head[4..8].SequenceEqual("ftyp"u8) ? Mp4
        : head.Length >= 4 && head[..4].SequenceEqual((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3]) ? "a WebM/Matroska file"
        : null;

    private const string Mp4 = "an MP4/MOV file";

    /// <summary>A still-image format that OpenCV does not read, by the file's first bytes: "AVIF" or "HEIC" (an ISO
    /// 'ftyp' box whose brands say so) or "JPEG XL" (its codestream or container signature); null for anything else.</summary>
    internal static string? ForeignStill(ReadOnlySpan<byte> h)
    {
        if (h.Length >= 2 && h[0] == 0xFF && h[1] == 0x0A) return "JPEG XL";
        if (h.Length >= 12 && h[..12].SequenceEqual((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'J', (byte)'X', (byte)'L', (byte)' ', 0x0D, 0x0A, 0x87, 0x0A])) return "JPEG XL";
        var brands = ImageSniffer.IsoBrands(h);
        return brands.Any(ImageSniffer.AvifBrands.Contains) ? "AVIF" : brands.Any(ImageSniffer.HeicBrands.Contains) ? "HEIC" : null;
    }

    /// <summary>The error for an image over the pixel limit: its size as the header gives it, or as decoded.</summary>
    private static VivifyException PixelLimit(string path, long w, long h, long maxPixels, bool fromHeader) => new(path, fromHeader
        ? $"image is about {w}x{h} = {w * h / 1e6:0.#} megapixels, above the limit of {maxPixels / 1e6:0.#} megapixels (raise it with --max-pixels)"
        : $"image is {w}x{h}, above the limit of {maxPixels / 1e6:0.#} megapixels (raise it with --max-pixels)");

    /// <summary>How long a decoding program may take over one still before it is stopped: a damaged or hostile file must
    /// not hang the command (a 100-megapixel AVIF decodes in a few seconds).</summary>
    internal static readonly TimeSpan DecoderTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Runs a decoding program on the user's file: its standard output copied into <paramref name="output"/>
    /// (or drained), its standard error returned; <paramref name="missing"/> is the error where the program is not
    /// installed, and one that runs past <paramref name="timeout"/> (DecoderTimeout) is stopped and named. Returns the
    /// exit code.</summary>
    internal static int RunDecoder(string path, string program, IEnumerable<string> args, string missing, Stream? output, out string err,
        TimeSpan? timeout = null)
    {
        var limit = timeout ?? DecoderTimeout;
        var psi = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        System.Diagnostics.Process p;
        try { p = System.Diagnostics.Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new VivifyException(path, missing); }
        using (p)
        {
            var errTask = p.StandardError.ReadToEndAsync();
            var copy = p.StandardOutput.BaseStream.CopyToAsync(output ?? Stream.Null);
            if (!copy.Wait(limit) || !p.WaitForExit(limit))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit();
                throw new VivifyException(path, $"{program} did not finish decoding it within {limit.TotalSeconds:0} s (a damaged file?); it was stopped");
            }
            p.WaitForExit();
            err = errTask.GetAwaiter().GetResult().Trim();
            return p.ExitCode;
        }
    }

    /// <summary>The error for a still a decoding program could not read: its last line of complaint, if any.</summary>
    private static VivifyException DecodeFailed(string path, string kind, string err) =>
        new(path, $"{kind} image could not be decoded" + (err.Length > 0 ? $" ({err.Split('\n')[^1]})" : ""));

    /// <summary>A HEIC photo (an iPhone's) decoded by libheif's heif-convert (Debian's libheif-examples, installed by the
    /// set-up) to a PNG in a fresh temporary folder: its primary image turned as the file says (the orientation a phone
    /// records there), laid over white where transparent.</summary>
    private static Mat DecodeHeic(string path, long maxPixels)
    {
        var dir = Directory.CreateTempSubdirectory("vivify-heic-");
        var png = Path.Combine(dir.FullName, "image.png");
        try
        {
            RunDecoder(path, "heif-convert", [path, png],
                "a HEIC photo (an iPhone's): reading it needs heif-convert (apt-get install libheif-examples; the set-up installs it), or export it as JPEG or PNG",
                null, out var err);
            if (!File.Exists(png)) throw DecodeFailed(path, "HEIC", err);
            return LoadImage(png, maxPixels);
        }
        catch (VivifyException e) when (e.File == png) { throw new VivifyException(path, e.Problem); }   // named as the user's file
        finally { dir.Delete(true); }
    }

    /// <summary>The first picture of a still OpenCV cannot read, decoded by the ffmpeg program (which reads AVIF and
    /// JPEG XL) as 8-bit RGBA PNG and laid over white where it is transparent.</summary>
    private static Mat DecodeWithFfmpeg(string path, string kind, long maxPixels)
    {
        using var ms = new MemoryStream();
        int exit = RunDecoder(path, "ffmpeg", ["-v", "error", "-i", path, "-frames:v", "1", "-pix_fmt", "rgba", "-f", "image2pipe", "-c:v", "png", "-"],
            $"{kind} images are read with ffmpeg, which is not installed (run the set-up)", ms, out var err);
        using var raw = exit == 0 && ms.Length > 0 ? Cv2.ImDecode(ms.ToArray(), ImreadModes.Unchanged) : new Mat();
        if (raw.Empty()) throw DecodeFailed(path, kind, err);
        if ((long)raw.Width * raw.Height > maxPixels) throw PixelLimit(path, raw.Width, raw.Height, maxPixels, fromHeader: false);
        var bgr = new Mat();
        if (raw.Channels() == 3) { raw.CopyTo(bgr); return bgr; }
        Cv2.CvtColor(raw, bgr, raw.Channels() == 4 ? ColorConversionCodes.BGRA2BGR : ColorConversionCodes.GRAY2BGR);
        if (raw.Channels() == 4) LayOverWhite(bgr, raw);
        return bgr;
    }

    /// <summary>Why a file that Probe calls an image cannot be taken as the video it may look like: an animated WebP
    /// (its canvas header's animation flag), which neither OpenCV's video reader nor ffmpeg decodes; null otherwise.</summary>
    public static string? AnimatedStill(string path)
    {
        var h = Head(path);
        return h.Length >= 21 && h.AsSpan(0, 4).SequenceEqual("RIFF"u8) && h.AsSpan(8, 8).SequenceEqual("WEBPVP8X"u8) && (h[20] & 0x02) != 0
            ? "an animated WebP, which cannot be read as a video here (convert it to MP4 or GIF)"
            : null;
    }

    /// <summary>The error for a file that must be a video (<paramref name="what"/>: "the driver") and is a still: an animated WebP
    /// is named as such (see AnimatedStill).</summary>
    public static VivifyException NotAVideo(string path, string what) =>
        new(path, AnimatedStill(path) ?? $"{what} must be a video, not a still image");

    /// <summary>The error for a portrait that is a video, or an animated GIF (which is one here).</summary>
    public static VivifyException NotAStill(string path) => new(path, GifFrames(path) >= 2
        ? "the portrait must be a still image, not an animated GIF (save one of its frames as PNG or JPEG)"
        : "the portrait must be an image, not a video");

    /// <summary>Frames in a GIF file, counted up to <paramref name="stopAt"/>, by walking its blocks (nothing is decoded);
    /// 0 for a file that is not a GIF; a frame cut off by the end of the file is not counted.</summary>
    internal static int GifFrames(string path, int stopAt = 2)
    {
        using var s = new BufferedStream(File.OpenRead(path), 1 << 16);
        Span<byte> b = stackalloc byte[13];
        if (s.ReadAtLeast(b, 13, throwOnEndOfStream: false) < 13 || !b[..4].SequenceEqual("GIF8"u8)) return 0;
        if ((b[10] & 0x80) != 0) s.Seek(3 << ((b[10] & 7) + 1), SeekOrigin.Current);   // the global colour table
        int frames = 0;
        while (frames < stopAt)
        {
            int kind = s.ReadByte();
            if (kind == 0x21) { if (s.ReadByte() < 0 || !SkipSubBlocks(s)) break; }       // an extension: label, data
            else if (kind == 0x2C)                                                          // an image: descriptor, table, data
            {
                if (s.ReadAtLeast(b[..9], 9, throwOnEndOfStream: false) < 9) break;
                if ((b[8] & 0x80) != 0) s.Seek(3 << ((b[8] & 7) + 1), SeekOrigin.Current);
                if (s.ReadByte() < 0 || !SkipSubBlocks(s)) break;                            // LZW code size, data
                frames++;
            }
            else break;                                                                     // the trailer (0x3B), or junk
        }
        return frames;
    }

    /// <summary>Skips GIF data sub-blocks up to their zero-length terminator; false at the end of the file.</summary>
    private static bool SkipSubBlocks(Stream s)
    {
        while (true)
        {
            int n = s.ReadByte();
            if (n < 0) return false;
            if (n == 0) return true;
            if (s.Position + n > s.Length) return false;
            s.Seek(n, SeekOrigin.Current);
        }
    }

    /// <summary>Whether an MP4/MOV file has a video track (a 'trak' whose handler is 'vide'): null where its index
    /// (the 'moov' box) cannot be found or read, false for a sound-only file (an .m4a, a voice memo).</summary>
    internal static bool? Mp4HasVideoTrack(string path)
    {
        using var f = File.OpenRead(path);
        long moov = -1, moovEnd = 0;
        foreach (var (type, start, end) in Mp4Boxes(f, 0, f.Length))
            if (type == "moov") { moov = start; moovEnd = end; break; }
        if (moov < 0) return null;
        bool any = false;
        foreach (var (type, start, end) in Mp4Boxes(f, moov, moovEnd))
        {
            if (type != "trak") continue;
            foreach (var (mt, ms, me) in Mp4Boxes(f, start, end))
            {
                if (mt != "mdia") continue;
                foreach (var (ht, hs, he) in Mp4Boxes(f, ms, me))
                {
                    if (ht != "hdlr" || he - hs < 12) continue;
                    var h = new byte[12];
                    f.Position = hs;
                    if (f.ReadAtLeast(h, 12, throwOnEndOfStream: false) < 12) return null;
                    any = true;
                    if (h.AsSpan(8, 4).SequenceEqual("vide"u8)) return true;   // version and flags, pre_defined, handler
                }
            }
        }
        return any ? false : null;
    }

    /// <summary>The boxes between two offsets: type, where the payload starts, where the box ends (clipped to the range).</summary>
    private static IEnumerable<(string Type, long Start, long End)> Mp4Boxes(Stream f, long from, long to)
    {
        var h = new byte[16];
        for (long at = from; at + 8 <= to;)
        {
            f.Position = at;
            if (f.ReadAtLeast(h.AsMemory(0, 8).Span, 8, throwOnEndOfStream: false) < 8) yield break;
            long size = (long)h[0] << 24 | (long)h[1] << 16 | (long)h[2] << 8 | h[3];
            string type = System.Text.Encoding.ASCII.GetString(h, 4, 4);
            long header = 8;
            if (size == 1)
            {
                if (f.ReadAtLeast(h.AsMemory(8, 8).Span, 8, throwOnEndOfStream: false) < 8) yield break;
                size = 0; for (int k = 8; k < 16; k++) size = size << 8 | h[k];
                header = 16;
            }
            else if (size == 0) size = to - at;                    // to the end
            if (size < header) yield break;                        // damaged
            long end = Math.Min(to, at + size);
            yield return (type, at + header, end);
            at += size;
        }
    }

    private static void CheckReadable(string path)
    {
        if (Directory.Exists(path)) throw new VivifyException(path, "is a folder, not a file");
        if (!File.Exists(path)) throw new VivifyException(path, "file not found");
        if (new FileInfo(path).Length == 0) throw new VivifyException(path, "file is empty");
    }
}
