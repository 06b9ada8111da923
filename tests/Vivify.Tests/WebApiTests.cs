using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenCvSharp;
using Vivify.Web;

namespace Vivify.Tests;

/// <summary>`vivify serve`'s HTTP API on a real loopback port: the limits and bad uploads, and where files go.</summary>
public sealed class WebApiTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private string _root = null!, _data = null!;
    private const long MaxBytes = 2 * 1024 * 1024;

    public async Task InitializeAsync()
    {
        _root = CliRunner.TempDir();
        _data = Path.Combine(_root, "data");
        _app = VivifyWebApp.Build(new WebOptions
        {
            DataDir = _data, Drivers = [TestData.Sample("cap13_edit2.mp4")], MaxUploadBytes = MaxBytes, MaxPixels = 4_000_000, Concurrency = 1,
            FaceApiDir = WebOptions.DefaultFaceApiDir(),
        }, "http://127.0.0.1:0", quietLogs: true);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_root, true);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> Upload(byte[] bytes, string fileName, string type = "image/jpeg")
    {
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        form.Add(content, "portrait", fileName);
        using var res = await _http.PostAsync("/api/portraits", form);
        var text = await res.Content.ReadAsStringAsync();
        return (res.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string ErrorOf(JsonElement e) => e.GetProperty("error").GetString()!;

    /// <summary>Every file under the data folder (and nothing the test did not expect beside it).</summary>
    private string[] DataFiles() => Directory.GetFiles(_data, "*", SearchOption.AllDirectories);

    [Fact]
    public async Task A_full_queue_refuses_new_portraits_with_503_and_writes_nothing()
    {
        var root = CliRunner.TempDir();
        var data = Path.Combine(root, "data");
        await using var app = VivifyWebApp.Build(new WebOptions
        {
            DataDir = data, Drivers = [TestData.Sample("cap13_edit2.mp4")], MaxUploadBytes = MaxBytes, Concurrency = 1, MaxWaiting = 0,
        }, "http://127.0.0.1:0", quietLogs: true);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(File.ReadAllBytes(TestData.Sample("audrey.jpg")));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(content, "portrait", "audrey.jpg");
        using var res = await http.PostAsync("/api/portraits", form);
        var body = JsonDocument.Parse(await res.Content.ReadAsStringAsync()).RootElement;
        await app.StopAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, res.StatusCode);
        Assert.Contains("render queue is full", ErrorOf(body));
        Assert.Empty(Directory.GetFiles(data, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Empty_file_is_refused()
    {
        var (status, body) = await Upload([], "empty.jpg");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("empty", ErrorOf(body));
        Assert.Empty(DataFiles());
    }

    [Fact]
    public async Task Wrong_type_is_judged_by_content_not_name()
    {
        var (status, body) = await Upload("just some text, not a photo"u8.ToArray(), "portrait.jpg");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Contains("not a JPEG, PNG, WebP, AVIF or HEIC", ErrorOf(body));
        // a real video under an image's name is not an image either
        (status, _) = await Upload(File.ReadAllBytes(TestData.Sample("cap13_edit2.mp4"))[..100_000], "portrait.png", "image/png");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Empty(DataFiles());
    }

    [Fact]
    public async Task Huge_image_is_refused_from_its_header_before_decoding()
    {
        // a valid PNG of 6000x6000 (36 megapixels, over the 4 MP limit) that compresses to a small file
        using var big = new Mat(6000, 6000, MatType.CV_8UC3, Scalar.All(200));
        var png = big.ImEncode(".png");
        Assert.True(png.Length < MaxBytes);
        var (status, body) = await Upload(png, "big.png", "image/png");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("6000x6000", ErrorOf(body));
        Assert.Contains("megapixels", ErrorOf(body));
        // and a file over the byte limit
        var noise = new byte[MaxBytes + 10_000];
        new Random(1).NextBytes(noise);
        noise[0] = 0xFF; noise[1] = 0xD8; noise[2] = 0xFF;
        (status, body) = await Upload(noise, "noise.jpg");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("too large", ErrorOf(body));
        Assert.Empty(DataFiles());
    }

    /// <summary>
    /// An AVIF upload (what a browser or an Android phone may save) is taken by content like the others: its size read
    /// from its header ('ispe') refuses one over the pixel limit before anything decodes, and one within it is decoded
    /// (by ffmpeg) and checked for a face: a plain wall is refused for having none, not for its format.
    /// </summary>
    [Fact]
    public async Task An_avif_upload_is_judged_like_the_others()
    {
        var dir = CliRunner.TempDir();
        string wall = Path.Combine(dir, "wall.avif"), big = Path.Combine(dir, "big.avif");
        CliRunner.Ffmpeg($"-f lavfi -i color=c=0xb4bec8:s=400x300 -frames:v 1 -c:v libaom-av1 -cpu-used 8 -still-picture 1 \"{wall}\"");
        CliRunner.Ffmpeg($"-f lavfi -i color=c=0xb4bec8:s=2600x2000 -frames:v 1 -c:v libaom-av1 -cpu-used 8 -still-picture 1 \"{big}\"");
        await AssertSizedFromHeaderThenDecoded(big, wall, "image/avif");
    }

    /// <summary>A 2600x2000 upload is refused for its size (read from its header: nothing that large decodes), and a
    /// 400x300 plain wall in the same format for having no face (so it was decoded); nothing is kept of either.</summary>
    private async Task AssertSizedFromHeaderThenDecoded(string big, string wall, string type)
    {
        var (status, body) = await Upload(File.ReadAllBytes(big), Path.GetFileName(big), type);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("2600x2000", ErrorOf(body));
        (status, body) = await Upload(File.ReadAllBytes(wall), Path.GetFileName(wall), type);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("no face found", ErrorOf(body));
        Assert.Empty(DataFiles());
    }

    /// <summary>
    /// A HEIC upload (a photo from an iPhone or a Mac, which desktop browsers send as it is) is taken the same way: its
    /// size read from its header refuses one over the pixel limit before anything decodes, and one within it is decoded
    /// (by libheif's heif-convert) and checked for a face. Made by libheif's encoder, which the set-up installs with it.
    /// </summary>
    [Fact]
    public async Task A_heic_upload_is_judged_like_the_others()
    {
        var dir = CliRunner.TempDir();
        string wallPng = Path.Combine(dir, "wall.png"), bigPng = Path.Combine(dir, "big.png"), wall = Path.Combine(dir, "IMG_0002.HEIC"), big = Path.Combine(dir, "IMG_0001.HEIC");
        CliRunner.Ffmpeg($"-f lavfi -i color=c=0xb4bec8:s=400x300 -frames:v 1 \"{wallPng}\"");
        CliRunner.Ffmpeg($"-f lavfi -i color=c=0xb4bec8:s=2600x2000 -frames:v 1 \"{bigPng}\"");
        CliRunner.HeifEnc(wallPng, wall, 50);
        CliRunner.HeifEnc(bigPng, big, 50);
        Assert.Equal(new Vivify.Media.ImageSniffer.Info("heic", ".heic", 2600, 2000), Vivify.Media.ImageSniffer.Sniff(File.ReadAllBytes(big)));
        await AssertSizedFromHeaderThenDecoded(big, wall, "image/heic");
    }

    [Fact]
    public async Task Image_without_a_face_is_refused()
    {
        using var img = new Mat(480, 640, MatType.CV_8UC3);
        Cv2.Randu(img, Scalar.All(0), Scalar.All(255));
        Cv2.GaussianBlur(img, img, new OpenCvSharp.Size(0, 0), 6);
        var (status, body) = await Upload(img.ImEncode(".jpg"), "landscape.jpg");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("no face", ErrorOf(body));
        Assert.Empty(DataFiles());
    }

    [Fact]
    public async Task File_names_never_choose_where_files_go()
    {
        var bytes = File.ReadAllBytes(TestData.Sample("audrey.jpg"));
        var (status, body) = await Upload(bytes, "../../../evil.jpg");
        Assert.Equal(HttpStatusCode.Accepted, status);
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)).ToLowerInvariant(), id);
        var files = DataFiles();
        Assert.Contains(Path.Combine(_data, "portraits", id, "portrait.jpg"), files);
        Assert.All(files, f => Assert.StartsWith(_data + Path.DirectorySeparatorChar, f));
        Assert.DoesNotContain(files, f => f.Contains("evil"));
        Assert.False(File.Exists(Path.Combine(_root, "evil.jpg")));
        Assert.Equal(["data"], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
        // the same upload again is the same job, not a second copy
        var (status2, body2) = await Upload(bytes, "other-name.jpg");
        Assert.True(status2 is HttpStatusCode.Accepted or HttpStatusCode.OK);
        Assert.Equal(id, body2.GetProperty("id").GetString());
        Assert.Single(Directory.GetDirectories(Path.Combine(_data, "portraits")));
        // the job reports its state; clips can only be named as the manifest names them
        var job = JsonDocument.Parse(await _http.GetStringAsync($"/api/jobs/{id}")).RootElement;
        Assert.Contains(job.GetProperty("state").GetString(), new[] { "queued", "running", "done" });
        foreach (var bad in new[] { $"/api/portraits/{id}/files/..%2Fportrait.jpg", $"/api/portraits/{id}/files/portrait.jpg", "/api/portraits/..%2F..%2Fetc/files/passwd", "/api/jobs/not-a-job" })
        {
            using var res = await _http.GetAsync(bad);
            Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
            Assert.Equal("application/json", res.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Page_and_error_pages_are_served()
    {
        var page = await _http.GetStringAsync("/");
        Assert.Contains("<form id=\"upload\"", page);
        using var res = await _http.GetAsync("/no/such/page");
        Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
        Assert.Contains("text/html", res.Content.Headers.ContentType?.ToString());
        Assert.Contains("Back to Vivify", await res.Content.ReadAsStringAsync());
        if (WebOptions.DefaultFaceApiDir() is not null)
        {
            using var model = await _http.GetAsync("/vendor/face-api/model/face_expression_model-weights_manifest.json");
            Assert.Equal(HttpStatusCode.OK, model.StatusCode);
        }
    }
}
