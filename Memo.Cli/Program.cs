namespace Memo.Cli;

/// <summary>Entry point of the <c>memo</c> command-line tool.</summary>
public static class Program
{
    /// <summary>Runs one command; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        _ = args;
        return 0;
    }
}
