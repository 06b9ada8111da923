// VivifyWebApp: `vivify serve`, the reactive-profile web app (TECHNIQUE.md stage 7) on ASP.NET
// Core's own server, loopback by default. A page (wwwroot/) where a visitor uploads a portrait,
// watches the render's progress and place in line, then sees the portrait idle and react; and
// the HTTP API the page itself uses:
//   POST /api/portraits              multipart field "portrait": 202 {id, job} (200 when cached)
//   GET  /api/jobs/{id}              {state: queued|running|done|failed, position, progress, stage, error}
//   GET  /api/portraits/{id}/manifest the reaction manifest, with a url per clip
//   GET  /api/portraits/{id}/files/{name}  a clip (MP4, range requests) or the still
//   GET  /vendor/face-api/...        face-api's browser bundle and models (from npm, no CDN)
// Errors: JSON {error} with 400 (empty, no file), 413 (too many bytes or pixels), 415 (not a
// JPEG, PNG, WebP, AVIF or HEIC by content), 422 (no usable face), 404; pages outside /api get a short HTML page.
// Requires: a data folder it may write (default data/web in the repository). Guarantees: writes
// only under it, at names made from the upload's SHA-256 (never the user's file name); an upload
// is checked (size, format by content, pixel count from the header, a face) before it is kept.
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Vivify.Faces;
using Vivify.Media;
using Vivify.Reactions;

namespace Vivify.Web;

public sealed record WebOptions
{
    public required string DataDir { get; init; }
    public required IReadOnlyList<string> Drivers { get; init; }
    public long MaxUploadBytes { get; init; } = 15 * 1024 * 1024;
    public long MaxPixels { get; init; } = 40_000_000;
    public int MaxSide { get; init; } = 640;
    /// <summary>Renders at once: one per core (each render itself runs on one thread plus ffmpeg).</summary>
    public int Concurrency { get; init; } = Environment.ProcessorCount;
    /// <summary>Portraits waiting for a render at most; a new one beyond gets 503 (the queue is bounded).</summary>
    public int MaxWaiting { get; init; } = 32;
    /// <summary>The folder holding face-api's dist/ and model/ (npm @vladmandic/face-api); null when not installed.</summary>
    public string? FaceApiDir { get; init; }

    public static bool IsPortraitId(string? id) => id is { Length: 64 } && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>face-api as set-up installs it: node_modules in the repository.</summary>
    public static string? DefaultFaceApiDir()
    {
        var root = SampleMedia.RepositoryRoot;
        if (root is null) return null;
        var d = Path.Combine(root, "node_modules", "@vladmandic", "face-api");
        return Directory.Exists(d) ? d : null;
    }
}

public static class VivifyWebApp
{
    public static WebApplication Build(WebOptions opt, string urls, bool quietLogs = false)
    {
        Directory.CreateDirectory(opt.DataDir);
        var data = Path.GetFullPath(opt.DataDir);
        opt = opt with { DataDir = data };
        Directory.CreateDirectory(Path.Combine(data, "portraits"));
        Directory.CreateDirectory(Path.Combine(data, "incoming"));
        var webRoot = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, WebRootPath = webRoot, Args = [] });
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = opt.MaxUploadBytes + 1024 * 1024);
        builder.Logging.ClearProviders();
        if (!quietLogs) builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<FormOptions>(f => f.MultipartBodyLengthLimit = opt.MaxUploadBytes + 64 * 1024);
        builder.Services.AddSingleton(opt);
        builder.Services.AddSingleton<RenderQueue>();
        var app = builder.Build();
        var queue = app.Services.GetRequiredService<RenderQueue>();
        app.Lifetime.ApplicationStarted.Register(queue.Warm);

        app.UseStatusCodePages(async ctx =>
        {
            var r = ctx.HttpContext.Response;
            if (ctx.HttpContext.Request.Path.StartsWithSegments("/api"))
            {
                r.ContentType = "application/json";
                await r.WriteAsync(JsonSerializer.Serialize(new { error = ReasonFor(r.StatusCode) }));
            }
            else await WriteErrorPage(r, r.StatusCode, ReasonFor(r.StatusCode));
        });
        var pageFiles = new PhysicalFileProvider(webRoot);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = pageFiles });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = pageFiles });
        if (opt.FaceApiDir is { } fa && Directory.Exists(fa))
        {
            app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(Path.Combine(fa, "dist")), RequestPath = "/vendor/face-api/dist" });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = new PhysicalFileProvider(Path.Combine(fa, "model")), RequestPath = "/vendor/face-api/model",
                ServeUnknownFileTypes = true, DefaultContentType = "application/octet-stream",
            });
        }

        app.UseRouting();   // after the static files: "/" is the page, not the fallback endpoint
        app.MapGet("/api/health", () => Results.Json(new { ok = true, faceApi = opt.FaceApiDir is not null, drivers = opt.Drivers.Select(Path.GetFileName) }));
        app.MapPost("/api/portraits", (HttpRequest req) => Upload(req, opt, queue)).DisableAntiforgery();
        app.MapGet("/api/jobs/{id}", (string id) =>
        {
            var job = queue.Get(id);
            if (job is null) return Error(404, "no such job");
            return Results.Json(JobJson(job, queue));
        });
        app.MapGet("/api/portraits/{id}/manifest", (string id) =>
        {
            if (!WebOptions.IsPortraitId(id)) return Error(404, "no such portrait");
            var path = Path.Combine(queue.PortraitsDir, id, "clips", ReactionRenderer.ManifestName);
            if (!File.Exists(path)) return Error(404, "not rendered (yet)");
            var m = ReactionManifest.Read(path);
            string Url(string f) => $"/api/portraits/{id}/files/{f}";
            return Results.Json(new
            {
                id, m.Width, m.Height, still = Url(m.Still), m.Missing,
                idle = ClipJson(m.Idle, Url), reactions = m.Reactions.Select(c => ClipJson(c, Url)),
            }, ReactionManifest.Json);
        });
        app.MapGet("/api/portraits/{id}/files/{name}", (string id, string name) =>
        {
            if (!WebOptions.IsPortraitId(id)) return Error(404, "no such portrait");
            var dir = Path.Combine(queue.PortraitsDir, id, "clips");
            var manifest = Path.Combine(dir, ReactionRenderer.ManifestName);
            if (!File.Exists(manifest)) return Error(404, "not rendered (yet)");
            // only the files the manifest names: no other path can be reached
            var m = ReactionManifest.Read(manifest);
            var files = m.Reactions.Select(c => c.File).Append(m.Idle.File).Append(m.Still).ToHashSet(StringComparer.Ordinal);
            if (!files.Contains(name)) return Error(404, "no such file");
            var type = name.EndsWith(".mp4", StringComparison.Ordinal) ? "video/mp4" : "image/jpeg";
            return Results.File(Path.Combine(dir, name), type, enableRangeProcessing: true);
        });
        app.MapFallback((HttpContext ctx) => ctx.Request.Path.StartsWithSegments("/api") ? Error(404, "no such endpoint") : Results.Extensions.Page(404, "No such page."));
        return app;
    }

    private static object ClipJson(ReactionClip c, Func<string, string> url) =>
        new { c.Name, url = url(c.File), c.Duration, c.PeakTime, c.Score, c.Driver };

    private static object JobJson(RenderJob j, RenderQueue q) => new
    {
        id = j.Id,
        state = j.State.ToString().ToLowerInvariant(),
        position = q.Position(j),
        progress = Math.Round(j.Progress, 3),
        stage = j.Stage,
        error = j.Error,
        manifest = j.State == JobState.Done ? $"/api/portraits/{j.Id}/manifest" : null,
    };

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    private static async Task<IResult> Upload(HttpRequest req, WebOptions opt, RenderQueue queue)
    {
        if (req.ContentLength > opt.MaxUploadBytes + 64 * 1024) return Error(413, TooBig(opt));
        if (!req.HasFormContentType) return Error(400, "send the portrait as multipart/form-data, field \"portrait\"");
        IFormCollection form;
        try { form = await req.ReadFormAsync(); }
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
        {
            return e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) || e is BadHttpRequestException { StatusCode: 413 }
                ? Error(413, TooBig(opt)) : Error(400, "the upload could not be read");
        }
        var file = form.Files.GetFile("portrait") ?? form.Files.FirstOrDefault();
        if (file is null) return Error(400, "no file: send the portrait in the form field \"portrait\"");
        if (file.Length == 0) return Error(400, "the file is empty");
        if (file.Length > opt.MaxUploadBytes) return Error(413, TooBig(opt));
        byte[] bytes;
        using (var ms = new MemoryStream())
        {
            await file.CopyToAsync(ms);
            bytes = ms.ToArray();
        }
        var info = ImageSniffer.Sniff(bytes);
        if (info is null) return Error(415, "not a JPEG, PNG, WebP, AVIF or HEIC image (judged by its content, not its name)");
        if (info.Pixels > opt.MaxPixels)
            return Error(413, $"the image is {info.Width}x{info.Height} = {info.Pixels / 1e6:0.#} megapixels; the limit is {opt.MaxPixels / 1e6:0.#} megapixels");
        var id = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        var existing = queue.Get(id);
        if (existing is not null && existing.State != JobState.Failed)
            return Results.Json(new { id, job = $"/api/jobs/{id}", cached = existing.State == JobState.Done }, statusCode: existing.State == JobState.Done ? 200 : 202);

        if (queue.Waiting >= opt.MaxWaiting)
            return Error(503, $"the render queue is full ({queue.Waiting} portraits waiting); try again in a few minutes");
        // check it decodes and holds a face before keeping it; written to a fresh temporary name, moved into place
        var folder = Path.Combine(queue.PortraitsDir, id);
        var image = Path.Combine(folder, "portrait" + info.Extension);
        var temp = Path.Combine(opt.DataDir, "incoming", $"{Guid.NewGuid():N}{info.Extension}");
        await File.WriteAllBytesAsync(temp, bytes);
        try
        {
            var problem = await Task.Run(() => CheckFace(temp, opt));
            if (problem is not null) return Error(422, problem);
            Directory.CreateDirectory(folder);
            if (!File.Exists(image)) File.Move(temp, image);
        }
        finally { if (File.Exists(temp)) File.Delete(temp); }
        var job = queue.Enqueue(id, image);
        return Results.Json(new { id, job = $"/api/jobs/{id}", cached = job.State == JobState.Done }, statusCode: job.State == JobState.Done ? 200 : 202);
    }

    private static string TooBig(WebOptions opt) => $"the file is too large; the limit is {opt.MaxUploadBytes / (1024 * 1024.0):0.#} MB";

    /// <summary>Null when the image decodes and has a face big enough once scaled for rendering; else the problem.</summary>
    private static string? CheckFace(string path, WebOptions opt)
    {
        try
        {
            using var img = MediaFile.LoadImage(path, opt.MaxPixels);
            using var small = ReactionRenderer.ScaleDown(img, opt.MaxSide);
            using var detector = new FaceDetector();
            var faces = detector.Detect(small);
            if (faces.Count == 0) return "no face found in the image: use a photo or painting of a face, seen from the front";
            if (faces[0].InterOcularDistance < new Animation.AnimationOptions().MinFaceIod)
                return "the face is too small: use a closer crop of the face";
            return null;
        }
        catch (VivifyException e) { return e.Problem; }
    }

    private static string ReasonFor(int status) => status switch
    {
        404 => "not found", 405 => "method not allowed", 413 => "too large", 415 => "unsupported type",
        _ => ((HttpStatusCode)status).ToString(),
    };

    internal static async Task WriteErrorPage(HttpResponse r, int status, string message)
    {
        r.StatusCode = status;
        r.ContentType = "text/html; charset=utf-8";
        await r.WriteAsync($"<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Vivify: {status}</title><link rel=\"stylesheet\" href=\"/style.css\">" +
            $"<main class=\"error-page\"><h1>{status}</h1><p>{WebUtility.HtmlEncode(message)}</p><p><a href=\"/\">Back to Vivify</a></p></main></html>");
    }

    private static IResult Page(this IResultExtensions _, int status, string message) => new PageResult(status, message);

    private sealed class PageResult(int status, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext ctx) => WriteErrorPage(ctx.Response, status, message);
    }

    /// <summary>Runs until Ctrl+C; prints where it listens.</summary>
    public static void Run(WebOptions opt, string urls)
    {
        using var app = Build(opt, urls);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addrs = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses;
            Console.Error.WriteLine($"vivify serve: listening on {string.Join(", ", addrs ?? [])} (data in {opt.DataDir}; Ctrl+C stops)");
            if (opt.FaceApiDir is null) Console.Error.WriteLine("vivify serve: face-api not found (run scripts/setup.sh): webcam reactions are off");
        });
        app.Run();
    }
}
