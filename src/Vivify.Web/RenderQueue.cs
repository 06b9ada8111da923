// RenderQueue: renders reactive profiles in the background, a bounded number at a time
// (Concurrency workers reading one Channel), the others waiting with their place in line shown.
// Portraits are keyed by the SHA-256 of their bytes: a portrait already rendered is served from
// the data folder at once; one queued or rendering is not queued twice.
// The driver analysis (ReactionPlan: which segments to render) does not depend on the portrait:
// it is computed once, started when the app starts, and shared by every job.
// Requires: a writable data folder. Guarantees: files are written only under
// DataDir/portraits/<64 hex digits>/, their names fixed by the code (never the user's); a job's
// clips appear all at once (ReactionRenderer's atomic folder move) or not at all.
using System.Collections.Concurrent;
using System.Threading.Channels;
using Vivify.Faces;
using Vivify.Media;
using Vivify.Reactions;

namespace Vivify.Web;

public enum JobState { Queued, Running, Done, Failed }

public sealed class RenderJob
{
    public required string Id { get; init; }
    public required string Folder { get; init; }
    public required string ImagePath { get; init; }
    public volatile JobState State;
    public volatile string Stage = "queued";
    public double Progress;
    public string? Error;
    public long Ticket;
    public DateTime Created = DateTime.UtcNow;
}

public sealed class RenderQueue : IDisposable
{
    private readonly WebOptions _opt;
    private readonly Channel<RenderJob> _channel = Channel.CreateUnbounded<RenderJob>();
    private readonly ConcurrentDictionary<string, RenderJob> _jobs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _workers = [];
    private readonly Lazy<Task<ReactionPlan>> _plan;
    private long _nextTicket, _served;
    private double _planProgress;

    public RenderQueue(WebOptions opt)
    {
        _opt = opt;
        _plan = new Lazy<Task<ReactionPlan>>(() => Task.Run(() =>
        {
            using var detector = new FaceDetector();
            var total = new Dictionary<string, (int Done, int Expected)>();
            return ReactionPlan.Find(opt.Drivers, detector, null, (path, done, expected) =>
            {
                lock (total)
                {
                    total[path] = (done, expected);
                    long all = opt.Drivers.Count;
                    double frac = 0;
                    foreach (var (d, e) in total.Values) frac += e > 0 ? Math.Min(1, d / (double)e) : 0;
                    _planProgress = frac / Math.Max(1, all);
                }
            });
        }));
        for (int i = 0; i < Math.Max(1, opt.Concurrency); i++) _workers.Add(Task.Run(Work));
    }

    public string PortraitsDir => Path.Combine(_opt.DataDir, "portraits");

    /// <summary>Starts the driver analysis in the background (the first job would otherwise wait for it).</summary>
    public void Warm() => _ = _plan.Value;

    public RenderJob? Get(string id) => _jobs.TryGetValue(id, out var j) ? j : Cached(id);

    /// <summary>Jobs waiting for a worker.</summary>
    public int Waiting => _jobs.Values.Count(j => j.State == JobState.Queued);

    /// <summary>Place in line: 0 when running or done, 1 for the next to start, ...</summary>
    public int Position(RenderJob j) => j.State != JobState.Queued ? 0 : (int)(j.Ticket - Interlocked.Read(ref _served));

    /// <summary>A job for the portrait already stored under id (its hash): cached, in progress, or newly queued.</summary>
    public RenderJob Enqueue(string id, string imagePath)
    {
        if (Cached(id) is { } done) return done;
        var job = _jobs.GetOrAdd(id, _ => new RenderJob { Id = id, Folder = Path.Combine(PortraitsDir, id), ImagePath = imagePath, State = JobState.Queued });
        lock (job)
        {
            if (job.Ticket == 0 && job.State == JobState.Queued)
            {
                job.Ticket = Interlocked.Increment(ref _nextTicket);
                _channel.Writer.TryWrite(job);
            }
            else if (job.State == JobState.Failed)
            {
                // a retry after a failure (a server fault, say): queue it again
                job.State = JobState.Queued; job.Error = null; job.Stage = "queued"; job.Progress = 0;
                job.Ticket = Interlocked.Increment(ref _nextTicket);
                _channel.Writer.TryWrite(job);
            }
        }
        return job;
    }

    private RenderJob? Cached(string id)
    {
        if (!WebOptions.IsPortraitId(id)) return null;
        var folder = Path.Combine(PortraitsDir, id);
        if (!File.Exists(Path.Combine(folder, "clips", ReactionRenderer.ManifestName))) return null;
        return new RenderJob { Id = id, Folder = folder, ImagePath = "", State = JobState.Done, Stage = "done", Progress = 1 };
    }

    private async Task Work()
    {
        try
        {
            await foreach (var job in _channel.Reader.ReadAllAsync(_stop.Token))
            {
                Interlocked.Increment(ref _served);
                job.State = JobState.Running;
                try
                {
                    if (!_plan.Value.IsCompleted) job.Stage = "analysing the driving videos";
                    while (!_plan.Value.IsCompleted)
                    {
                        job.Progress = 0.3 * _planProgress;
                        await Task.WhenAny(_plan.Value, Task.Delay(250, _stop.Token));
                    }
                    var plan = await _plan.Value;
                    job.Stage = "rendering";
                    await Task.Run(() => Render(job, plan), _stop.Token);
                    job.Progress = 1; job.Stage = "done"; job.State = JobState.Done;
                }
                catch (VivifyException e)
                {
                    job.Error = e.Problem; job.State = JobState.Failed; job.Stage = "failed";
                }
                catch (Exception e) when (!_stop.IsCancellationRequested)
                {
                    job.Error = $"internal error ({e.GetType().Name})"; job.State = JobState.Failed; job.Stage = "failed";
                    Console.Error.WriteLine($"vivify serve: job {job.Id}: {e}");
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private void Render(RenderJob job, ReactionPlan plan)
    {
        using var portrait = MediaFile.LoadImage(job.ImagePath, _opt.MaxPixels);
        using var detector = new FaceDetector();
        var options = new ReactionRenderOptions { MaxSide = _opt.MaxSide };
        var clips = Path.Combine(job.Folder, "clips");
        if (Directory.Exists(clips)) Directory.Delete(clips, true);  // a leftover without a manifest (never complete)
        ReactionRenderer.Render(portrait, "the portrait", plan, detector, clips, options,
            (_, done, total) => job.Progress = 0.3 + 0.7 * done / Math.Max(1.0, total), _stop.Token);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _channel.Writer.TryComplete();
        try { Task.WaitAll([.. _workers], TimeSpan.FromSeconds(10)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
