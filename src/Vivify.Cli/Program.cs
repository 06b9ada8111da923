// The `vivify` command line. Each subcommand lives in its own file; this file wires them up and
// turns every user-fixable problem (VivifyException) into one line on standard error and a
// non-zero exit code, never a stack trace (set VIVIFY_DEBUG=1 to see one).
using System.CommandLine;
using System.CommandLine.Help;
using Vivify;
using Vivify.Cli;

// A plain Command named "vivify" (a RootCommand would take the assembly's name, Vivify.Cli).
var root = new Command("vivify", "Vivify: bring a still portrait to life with the expressions and head motion of a driving video.")
{
    new HelpOption(), new VersionOption(),
};
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(AnimateCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(LandmarksCommand.Create());
root.Subcommands.Add(ReactionsCommand.Create());
root.Subcommands.Add(ServeCommand.Create());

try
{
    // OpenCV's own warnings ("[ WARN:0@0.009] global cap.cpp:215 ...", printed when a file cannot be opened) are not
    // the user's business: every failure reaches them as one line naming the file. Its errors still print.
    OpenCvSharp.Cv2.SetLogLevel(OpenCvSharp.LogLevel.ERROR);
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (VivifyException e)
{
    Console.Error.WriteLine($"vivify: {e.Message}");
    return 1;
}
catch (Exception e) when (Environment.GetEnvironmentVariable("VIVIFY_DEBUG") != "1")
{
    Console.Error.WriteLine($"vivify: internal error ({e.GetType().Name}): {e.Message}");
    return 70;
}
