namespace Memo.Node.Tests.Configuration;

/// <summary>Finds files of the source tree from a test's output folder, so tests read the real
/// <c>hocon/memo.conf</c> rather than a copy.</summary>
internal static class RepoFiles
{
    public static string DefaultsFile { get; } = Find(Path.Combine("hocon", "memo.conf"));

    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relativePath);
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Memo.Akka.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            $"'{relativePath}' not found in any parent of {AppContext.BaseDirectory} that holds Memo.Akka.sln");
    }
}
