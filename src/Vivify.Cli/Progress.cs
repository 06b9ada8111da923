// Progress: a progress display for long jobs: a Spectre.Console bar (frames, fps, time left) on
// a terminal, plain lines every few seconds otherwise, nothing with --quiet.
using System.Diagnostics;
using Spectre.Console;

namespace Vivify.Cli;

internal sealed class ProgressReporter
{
    private readonly bool _quiet;
    private readonly bool _interactive;

    public ProgressReporter(bool quiet)
    {
        _quiet = quiet;
        _interactive = !Console.IsErrorRedirected && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
    }

    /// <summary>Runs <paramref name="work"/>, which reports frames done through the callback.</summary>
    public T Run<T>(string label, int total, Func<Action<int>, T> work)
    {
        if (_quiet) return work(_ => { });
        if (_interactive)
        {
            T result = default!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new FramesColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(label, maxValue: Math.Max(1, total));
                    result = work(done => task.Value = Math.Min(done, task.MaxValue));
                    task.Value = task.MaxValue;
                });
            return result;
        }
        var sw = Stopwatch.StartNew();
        double lastPrint = 0;
        var r = work(done =>
        {
            double t = sw.Elapsed.TotalSeconds;
            if (t - lastPrint < 2 && done < total) return;
            lastPrint = t;
            double fps = done / Math.Max(t, 1e-6);
            string left = total > 0 && fps > 0 ? $", {Math.Max(0, total - done) / fps:0}s left" : "";
            Console.Error.WriteLine($"{label}: {done}/{total} frames, {fps:0.0} fps{left}");
        });
        Console.Error.WriteLine($"{label}: done in {sw.Elapsed.TotalSeconds:0.0}s");
        return r;
    }

    private sealed class FramesColumn : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            double fps = task.ElapsedTime is { TotalSeconds: > 0 } e ? task.Value / e.TotalSeconds : 0;
            return new Markup($"{task.Value:0}/{task.MaxValue:0} frames [grey]{fps:0.0} fps[/]");
        }
    }
}
