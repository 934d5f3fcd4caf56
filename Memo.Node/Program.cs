namespace Memo.Node;

/// <summary>Entry point of <c>dotnet Memo.Node.dll</c>.</summary>
public static class Program
{
    /// <summary>Starts a node; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        _ = args;
        return 0;
    }
}
