namespace Memo.Cli;

/// <summary>Entry point of the <c>memo</c> command-line tool.</summary>
public static class Program
{
    /// <summary>Runs one command; returns the process exit code (see <see cref="ExitCodes"/>).</summary>
    public static Task<int> Main(string[] args) => new MemoCli(CliIo.FromProcess()).RunAsync(args);
}
