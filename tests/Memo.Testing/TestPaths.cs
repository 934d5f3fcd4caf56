namespace Memo.Testing;

/// <summary>Locations in the repository that tests need.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        // The build output may live outside the repository (MEMO_ARTIFACTS), so also try where this file was compiled.
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(SourceFile()) ?? "" })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Memo.Akka.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException($"Memo.Akka.sln not found above {AppContext.BaseDirectory}.");
    });

    private static string SourceFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    /// <summary>The repository root (the folder holding Memo.Akka.sln).</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>Where tests leave files for people (screenshots): <c>$MEMO_ARTIFACTS</c> when set, else the repository's
    /// <c>artifacts/</c> folder.</summary>
    public static string Artifacts =>
        Environment.GetEnvironmentVariable("MEMO_ARTIFACTS") is { Length: > 0 } root ? root : Path.Combine(RepositoryRoot, "artifacts");
}
