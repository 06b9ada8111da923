using Vivify.Warping;
using Xunit.Abstractions;
namespace Vivify.Tests.Warping;
public class TmpDiag6(ITestOutputHelper output)
{
    [Fact]
    public void MouthTris()
    {
        foreach (var (img, w, h) in new[] { ("joconde.png", 743, 1155), ("audrey.png", 540, 720), ("obama4_crop.png", 280, 284) })
        {
            var scene = WarpScene.ForGoldenImage(img, w, h);
            using var warp = new ConfidenceAwareWarp(w, h, scene.Reference, scene.Facial);
            int[] uo = [49, 50, 51, 52, 53], ui = [61, 62, 63], lo = [55, 56, 57, 58, 59], li = [65, 66, 67];
            var bad = new List<string>(); var inner = new List<string>();
            foreach (var t in warp.Triangles)
            {
                int[] v = [t.A, t.B, t.C];
                bool hasUo = v.Any(uo.Contains), hasUi = v.Any(ui.Contains), hasLo = v.Any(lo.Contains), hasLi = v.Any(li.Contains);
                if ((hasUo && (hasLi || hasLo)) || (hasLo && (hasUi || hasUo))) bad.Add($"({t.A},{t.B},{t.C})");
                else if (hasUi && hasLi) inner.Add($"({t.A},{t.B},{t.C})");
            }
            output.WriteLine($"{img}: cross-lip triangles {string.Join(" ", bad)}; inner-gap triangles {string.Join(" ", inner)}");
            var cur = scene.Talking(1.5);
            warp.BuildMap(cur);
            output.WriteLine($"   after talking: {warp.LastStats}");
        }
    }
}
