// `vivify serve [--urls http://127.0.0.1:5000] [--data DIR] [--drivers ...]`: the reactive-profile
// web app (src/Vivify.Web): upload a portrait, watch it render, see it idle and react to the
// viewer's webcam expression (read in the browser), a like, or a hover. Loopback unless told.
using System.CommandLine;
using Vivify.Media;
using Vivify.Web;

namespace Vivify.Cli;

internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen.", DefaultValueFactory = _ => "http://127.0.0.1:5000" };
        var data = new Option<string?>("--data") { Description = "Data folder for uploads and renders (default: data/web in the repository)." };
        var drivers = new Option<string[]>("--drivers", "-d") { Description = "Driving videos or folders (default: the sample videos).", AllowMultipleArgumentsPerToken = true };
        var maxUpload = new Option<int>("--max-upload-mb") { Description = "Largest upload accepted, MB.", DefaultValueFactory = _ => 15 };
        var maxPixels = new Option<long>("--max-pixels") { Description = "Largest image accepted, pixels.", DefaultValueFactory = _ => 40_000_000 };
        var workers = new Option<int>("--workers") { Description = "Renders at once (default: one per core).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var maxQueue = new Option<int>("--max-queue") { Description = "Portraits waiting for a render at most; more get 503 (try later).", DefaultValueFactory = _ => 32 };
        var cmd = new Command("serve", "Serve the reactive-profile web app: upload a portrait, see it idle and react to you.") { urls, data, drivers, maxUpload, maxPixels, workers, maxQueue };
        cmd.SetAction(r =>
        {
            var dataDir = r.GetValue(data) ?? Path.Combine(SampleMedia.RepositoryRoot ?? Directory.GetCurrentDirectory(), "data", "web");
            if (r.GetValue(maxUpload) < 1 || r.GetValue(workers) < 1 || r.GetValue(maxQueue) < 1) throw new VivifyException(null, "--max-upload-mb, --workers and --max-queue must be at least 1");
            var u = r.GetValue(urls)!;
            foreach (var one in u.Split(';', StringSplitOptions.RemoveEmptyEntries))
                if (!Uri.TryCreate(one, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    throw new VivifyException(null, $"--urls: '{one}' is not an http:// address");
                else if (!uri.IsLoopback && uri.Host != "localhost")
                    Console.Error.WriteLine($"vivify serve: warning: {one} is reachable from other machines");
            var opt = new WebOptions
            {
                DataDir = dataDir, Drivers = ReactionsCommand.ResolveDrivers(r.GetValue(drivers) ?? []),
                MaxUploadBytes = r.GetValue(maxUpload) * 1024L * 1024, MaxPixels = r.GetValue(maxPixels), Concurrency = r.GetValue(workers), MaxWaiting = r.GetValue(maxQueue),
                FaceApiDir = WebOptions.DefaultFaceApiDir(),
            };
            VivifyWebApp.Run(opt, u);
            return 0;
        });
        return cmd;
    }
}
