// IntensityImage: an 8-bit grey image made with dlib's own RGB-to-grey rule,
// (R + G + B) / 3 in integer arithmetic (dlib/pixel.h, assign for rgb -> grayscale), which is
// what dlib's shape predictor samples. Requires a BGR, BGRA or grey 8-bit OpenCV Mat.
// Guarantees: Pixels[y * Width + x] equals dlib's get_pixel_intensity of that pixel.
using OpenCvSharp;

namespace Vivify.Faces;

public sealed class IntensityImage
{
    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    public IntensityImage(int width, int height, byte[] pixels)
    {
        if (pixels.Length < (long)width * height) throw new ArgumentException("pixel buffer too small", nameof(pixels));
        Width = width; Height = height; Pixels = pixels;
    }

    public static IntensityImage FromMat(Mat image)
    {
        if (image.Depth() != MatType.CV_8U) throw new ArgumentException("expected an 8-bit image", nameof(image));
        int w = image.Width, h = image.Height, ch = image.Channels();
        var pixels = new byte[(long)w * h];
        if (ch == 1)
        {
            for (int y = 0; y < h; y++)
                unsafe { new ReadOnlySpan<byte>((byte*)image.Ptr(y), w).CopyTo(pixels.AsSpan(y * w, w)); }
            return new IntensityImage(w, h, pixels);
        }
        if (ch != 3 && ch != 4) throw new ArgumentException($"expected 1, 3 or 4 channels, got {ch}", nameof(image));
        Parallel.For(0, h, y =>
        {
            unsafe
            {
                var row = new ReadOnlySpan<byte>((byte*)image.Ptr(y), w * ch);
                var dst = pixels.AsSpan(y * w, w);
                for (int x = 0, i = 0; x < w; x++, i += ch)
                    dst[x] = (byte)((row[i] + row[i + 1] + row[i + 2]) / 3);
            }
        });
        return new IntensityImage(w, h, pixels);
    }
}
