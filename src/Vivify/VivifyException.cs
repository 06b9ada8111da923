// VivifyException: a problem with the user's input or environment that the user can fix.
// Guarantees: Message is one line naming the file (when there is one) and the problem; the CLI
// prints exactly that and exits non-zero, never a stack trace.
namespace Vivify;

public class VivifyException : Exception
{
    public string? File { get; }
    public string Problem { get; }

    public VivifyException(string? file, string problem, Exception? inner = null)
        : base(file is null ? problem : $"{file}: {problem}", inner)
    {
        File = file; Problem = problem;
    }
}
