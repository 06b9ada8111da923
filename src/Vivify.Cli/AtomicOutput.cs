// AtomicOutput: a text output that is either standard output or a file written under a
// temporary name and renamed into place on Commit(), so a failed run leaves no partial file.
using Vivify;

namespace Vivify.Cli;

internal sealed class AtomicOutput : IDisposable
{
    private readonly string? _target, _temp;
    private readonly StreamWriter? _file;
    public TextWriter Writer { get; }

    public AtomicOutput(string? path)
    {
        if (path is null) { Writer = Console.Out; return; }
        _target = Path.GetFullPath(path);
        _temp = Path.Combine(Path.GetDirectoryName(_target)!, $".{Path.GetFileName(_target)}.partial-{Environment.ProcessId}");
        try { _file = new StreamWriter(_temp); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new VivifyException(path, $"cannot be written: {e.Message}");
        }
        Writer = _file;
    }

    public void Commit()
    {
        if (_file is null) { Console.Out.Flush(); return; }
        _file.Dispose();
        File.Move(_temp!, _target!, overwrite: true);
    }

    public void Dispose()
    {
        _file?.Dispose();
        if (_temp is not null && File.Exists(_temp)) File.Delete(_temp);
    }
}
