namespace Memo.Node.Tests.Configuration;

/// <summary>Finds files of the source tree from a test's output folder, so tests read the real
/// <c>hocon/memo.conf</c> rather than a copy.</summary>
internal static class RepoFiles
{
    public static string DefaultsFile { get; } = Find(Path.Combine("hocon", "memo.conf"));

    public static string Find(string relativePath)
    {
        // The repository root is found from the build output or, when that lives elsewhere (MEMO_ARTIFACTS), from
        // where the tests were compiled.
        var candidate = Path.Combine(Memo.Testing.TestPaths.RepositoryRoot, relativePath);
        return File.Exists(candidate) ? candidate : throw new FileNotFoundException($"'{relativePath}' not found under {Memo.Testing.TestPaths.RepositoryRoot}");
    }
}
