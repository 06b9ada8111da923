using OpenCvSharp;
using Vivify.Media;

namespace Vivify.Tests;

public class MediaFileTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly Vivify.Faces.FaceDetector Detector = new();

    /// <summary>
    /// A cut-out portrait (a PNG whose backdrop is transparent, the colour under it black, as background removers leave
    /// it) is laid over white: the transparent part reads white, a half-transparent strip half way to white, the opaque
    /// part exactly as drawn; at 16 bits per channel too. An image without alpha is read as before, bit for bit.
    /// </summary>
    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void ATransparentPortraitIsLaidOverWhite(int bits)
    {
        using var photo = Cv2.ImRead(TestData.Golden("images/cage.png"));
        int w = photo.Width, q = w / 4;
        using var alpha = new Mat(photo.Size(), MatType.CV_8UC1, Scalar.All(255));
        alpha[new Rect(0, 0, q, photo.Height)].SetTo(Scalar.All(0));
        alpha[new Rect(q, 0, 20, photo.Height)].SetTo(Scalar.All(128));
        using var cut = photo.Clone();
        cut[new Rect(0, 0, q, photo.Height)].SetTo(Scalar.All(0));       // black under the transparent part
        using var bgra = new Mat();
        Cv2.Merge([.. cut.Split(), alpha], bgra);
        if (bits == 16) bgra.ConvertTo(bgra, MatType.CV_16UC4, 257);
        var file = Path.Combine(CliRunner.TempDir(), "cutout.png");
        Cv2.ImWrite(file, bgra);

        using var read = MediaFile.LoadImage(file);
        Assert.Equal(MatType.CV_8UC3, read.Type());
        using var white = new Mat(); Cv2.InRange(read[new Rect(0, 0, q, photo.Height)], Scalar.All(255), Scalar.All(255), white);
        Assert.Equal(q * photo.Height, Cv2.CountNonZero(white));
        // half transparent: half way between the photo and white (within rounding)
        using var expected = new Mat(); Cv2.AddWeighted(cut[new Rect(q, 0, 20, photo.Height)], 128 / 255.0, new Mat(photo.Height, 20, MatType.CV_8UC3, Scalar.All(255)), 127 / 255.0, 0, expected);
        using var d = new Mat(); Cv2.Absdiff(read[new Rect(q, 0, 20, photo.Height)], expected, d);
        d.MinMaxLoc(out double _, out double worst);
        Assert.True(worst <= 1, $"half-transparent strip off by {worst} grey levels");
        // opaque: exactly the photo
        using var rest = new Mat(); Cv2.Absdiff(read[new Rect(q + 20, 0, w - q - 20, photo.Height)], photo[new Rect(q + 20, 0, w - q - 20, photo.Height)], rest);
        Assert.Equal(0, Cv2.CountNonZero(rest.Reshape(1)));
    }

    [Fact]
    public void AnOpaqueImageIsReadAsItIs()
    {
        var file = TestData.Golden("images/cage.png");
        using var plain = Cv2.ImRead(file, ImreadModes.Color);
        using var read = MediaFile.LoadImage(file);
        using var d = new Mat(); Cv2.Absdiff(read, plain, d);
        Assert.Equal(0, Cv2.CountNonZero(d.Reshape(1)));
    }

    /// <summary>
    /// An image is measured from its header before anything decodes it: a PNG whose header declares 60000x60000 pixels
    /// (a decompression bomb's few kilobytes could) is refused with the size it declares, in well under the time a decode
    /// of that size would take. Before, the size came from a decode at 1/8 scale, which for a PNG is a full decode; this
    /// file's damaged data then failed it, and it was reported as undecodable instead.
    /// </summary>
    [Fact]
    public void AHugePngIsRefusedFromItsHeader()
    {
        var file = Path.Combine(Path.GetTempPath(), $"vivify-bomb-{Environment.ProcessId}.png");
        try
        {
            var png = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R' };
            png.AddRange([0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60, 8, 2, 0, 0, 0]);   // 60000 x 60000, 8-bit RGB
            png.AddRange(new byte[4096]);                                           // (CRC and data: not valid)
            File.WriteAllBytes(file, png.ToArray());
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var e = Assert.Throws<VivifyException>(() => MediaFile.LoadImage(file));
            Assert.Contains("60000x60000", e.Message);
            Assert.Contains("above the limit", e.Message);
            Assert.True(sw.Elapsed.TotalSeconds < 2, $"{sw.Elapsed.TotalSeconds:0.0} s");
            // the sniffer reads the same header as the web app's upload check does
            Assert.Equal(new ImageSniffer.Info("png", ".png", 60000, 60000), ImageSniffer.Sniff(png.ToArray()));
            Assert.True(ImageSniffer.MayHaveAlpha(png.ToArray()));
        }
        finally { File.Delete(file); }
    }

    /// <summary>
    /// ScaleToFit (animate --max-side, the reactions' portrait): a larger portrait comes down to the side asked for with its
    /// aspect kept, and looks the same (its copy enlarged back stays within 8 grey levels on average of the original,
    /// and under half as far from it as the original shifted by a thirtieth of its width); one that fits is copied as it is; with even
    /// sides an odd-sized portrait loses at most a pixel a side, as yuv420p wants.
    /// </summary>
    [Fact]
    public void ScaleToFitBringsTheLongerSideDownAndKeepsThePicture()
    {
        using var photo = Cv2.ImRead(TestData.Golden("images/cage.png"));
        int side = photo.Width / 3;
        using var small = MediaFile.ScaleToFit(photo, side);
        double aspect = photo.Width / (double)photo.Height;
        Assert.Equal(side, Math.Max(small.Width, small.Height));
        Assert.InRange(small.Width / (double)small.Height, aspect * 0.98, aspect * 1.02);
        using var back = new Mat(); Cv2.Resize(small, back, photo.Size(), 0, 0, InterpolationFlags.Linear);
        using var shifted = new Mat(); Cv2.WarpAffine(photo, shifted, Mat.FromArray(new double[,] { { 1, 0, photo.Width / 30.0 }, { 0, 1, 0 } }), photo.Size(), InterpolationFlags.Linear, BorderTypes.Reflect);
        double mean = MeanAbsDiff(back, photo), meanShifted = MeanAbsDiff(shifted, photo);
        Assert.True(mean < 8 && mean < 0.5 * meanShifted, $"scaled copy differs by {mean:0.00} grey levels (a shifted copy {meanShifted:0.00})");

        using var same = MediaFile.ScaleToFit(photo, Math.Max(photo.Width, photo.Height) + 10);
        Assert.Equal(photo.Size(), same.Size());
        using var dsame = new Mat(); Cv2.Absdiff(same, photo, dsame);
        Assert.Equal(0, Cv2.CountNonZero(dsame.Reshape(1)));

        using var odd = photo[new Rect(0, 0, photo.Width - 1 | 1, photo.Height - 1 | 1)].Clone();   // odd sides
        using var even = MediaFile.ScaleToFit(odd, 10_000, evenSides: true);
        Assert.Equal((odd.Width & ~1, odd.Height & ~1), (even.Width, even.Height));
    }

    /// <summary>
    /// A phone stores a portrait shot sideways with its pixels as the sensor saw them and an EXIF orientation that says how
    /// to turn them: every command reads portraits through LoadImage, which turns them upright (orientations 6, 3 and 8:
    /// a quarter turn either way, a half turn). The upright picture comes back within JPEG's rounding (mean 3 grey levels
    /// at quality 95), its face found where it is in the upright original.
    /// </summary>
    [Theory]
    [InlineData(6, RotateFlags.Rotate90Counterclockwise)]
    [InlineData(3, RotateFlags.Rotate180)]
    [InlineData(8, RotateFlags.Rotate90Clockwise)]
    public void APortraitIsTurnedUprightByItsExifOrientation(int orientation, RotateFlags stored)
    {
        using var upright = Cv2.ImRead(TestData.Golden("images/audrey.png"));
        using var sensor = new Mat(); Cv2.Rotate(upright, sensor, stored);
        Cv2.ImEncode(".jpg", sensor, out var jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, 95));
        // APP1 "Exif": a big-endian TIFF header and one IFD entry, Orientation (0x0112), SHORT, 1 value
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, 0, 0, 0, 0];
        byte[] app1 = [.. "Exif\0\0"u8, .. tiff];
        byte[] segment = [0xFF, 0xE1, (byte)((app1.Length + 2) >> 8), (byte)(app1.Length + 2), .. app1];
        var file = Path.Combine(CliRunner.TempDir(), $"sideways-{orientation}.jpg");
        File.WriteAllBytes(file, [.. jpeg[..2], .. segment, .. jpeg[2..]]);

        using var read = MediaFile.LoadImage(file);
        AssertReadsAs(read, upright, "the upright picture");
    }

    /// <summary>
    /// A portrait saved as AVIF (a browser's or an Android phone's export), which OpenCV does not read, is decoded by
    /// ffmpeg: audrey.jpg encoded as AVIF (libaom, crf 20) reads back at its size within 3 grey levels of the JPEG on
    /// average, Probe calls it an image (OpenCV's video reader opens it, and it was refused as "a video"), and its face
    /// is found where the JPEG's is. The same for a HEIC (an iPhone's photo, which ffmpeg 5.1 cannot read either),
    /// decoded by libheif's heif-convert; a damaged one gets one line naming it.
    /// </summary>
    /// <summary>A decoding program that never finishes (a damaged or hostile file can make one spin) is stopped after the
    /// time limit and named in a plain error, instead of hanging the command: here a program that would sleep 60 s, given 1 s.</summary>
    [Fact]
    public void ADecoderThatHangsIsStoppedWithAClearError()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<VivifyException>(() => MediaFile.RunDecoder("photo.avif", "sleep", ["60"], "no sleep here", null, out _, TimeSpan.FromSeconds(1)));
        output.WriteLine($"{e.Message} after {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal("photo.avif", e.File);
        Assert.Contains("sleep did not finish decoding it within 1 s", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the decoder was waited on for {watch.Elapsed.TotalSeconds:0} s");
    }

    [Fact]
    public void AvifAndHeicPortraitsAreRead()
    {
        var dir = CliRunner.TempDir();
        var jpeg = TestData.Sample("audrey.jpg");
        var avif = Path.Combine(dir, "audrey.avif");
        CliRunner.Ffmpeg($"-i \"{jpeg}\" -c:v libaom-av1 -crf 20 -still-picture 1 -pix_fmt yuv444p \"{avif}\"");
        Assert.Equal(MediaKind.Image, MediaFile.Probe(avif));
        Assert.Equal(new ImageSniffer.Info("avif", ".avif", 540, 720), ImageSniffer.Sniff(File.ReadAllBytes(avif)));
        using var want = MediaFile.LoadImage(jpeg);
        using var got = MediaFile.LoadImage(avif);
        AssertReadsAs(got, want, "the JPEG (read from AVIF)");
        Assert.Single(Detector.Detect(got));

        // an iPhone's HEIC, made by libheif's encoder (installed by the set-up with its decoder)
        var heic = Path.Combine(dir, "photo.heic");
        CliRunner.HeifEnc(jpeg, heic, 90);
        Assert.Equal(MediaKind.Image, MediaFile.Probe(heic));
        Assert.Equal(new ImageSniffer.Info("heic", ".heic", 540, 720), ImageSniffer.Sniff(File.ReadAllBytes(heic)));
        using var fromHeic = MediaFile.LoadImage(heic);
        AssertReadsAs(fromHeic, want, "the JPEG (read from HEIC)");
        // a damaged one (the header and nothing else) is named, as the user's file
        var broken = Path.Combine(dir, "broken.heic");
        File.WriteAllBytes(broken, [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8, .. new byte[4000]]);
        var e = Assert.Throws<Vivify.VivifyException>(() => MediaFile.LoadImage(broken));
        Assert.Equal(broken, e.File);
        Assert.Contains("HEIC image could not be decoded", e.Message);
    }

    /// <summary>An image read back as the picture it was made from: the same size, within 3 grey levels on average,
    /// and a face whose landmarks lie within 0.02 IOD of the picture's on average.</summary>
    private static void AssertReadsAs(Mat read, Mat picture, string what)
    {
        Assert.Equal(picture.Size(), read.Size());
        double mean = MeanAbsDiff(read, picture);
        Assert.True(mean < 3, $"read back {mean:0.00} grey levels from {what} on average");
        var faces = Detector.Detect(read);
        Assert.NotEmpty(faces);
        var expected = Detector.Detect(picture)[0];
        double off = expected.Landmarks.Zip(faces[0].Landmarks, Vivify.Geometry.PointD.Distance).Average() / expected.InterOcularDistance;
        Assert.True(off < 0.02, $"landmarks {off:0.000} IOD from {what}'s on average");
    }

    /// <summary>Mean absolute difference of two BGR images, averaged over the three channels (grey levels).</summary>
    private static double MeanAbsDiff(Mat a, Mat b)
    {
        using var d = new Mat(); Cv2.Absdiff(a, b, d);
        var m = Cv2.Mean(d);
        return (m.Val0 + m.Val1 + m.Val2) / 3;
    }
}
