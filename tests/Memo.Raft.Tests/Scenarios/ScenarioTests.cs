using System.Runtime.CompilerServices;
using System.Text;

namespace Memo.Raft.Tests.Scenarios;

/// <summary>
/// Replays every Scenarios/*.txt file and compares the output with the golden text in the file. Format (as in
/// etcd-io/raft testdata): a command line (<c>name arg1 arg2 key=value</c>), a line <c>----</c>, the expected
/// output, a blank line. Lines starting with # are comments. Set MEMO_REWRITE=1 to rewrite the files in the
/// source tree with the actual output (then review the diff before committing).
/// </summary>
public sealed class ScenarioTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Scenarios"), "*.txt").Order())
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Scenario_output_matches_golden_file(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Scenarios", file);
        var text = File.ReadAllText(path).Replace("\r\n", "\n");
        var (actual, violation) = Replay(text);
        if (Environment.GetEnvironmentVariable("MEMO_REWRITE") == "1")
        {
            File.WriteAllText(Path.Combine(SourceDirectory(), "Scenarios", file), actual);
            return;
        }

        Assert.Equal(text, actual);
        // Scenarios that plant a bug say so in their name; every other scenario must be safe.
        if (!file.StartsWith("bug_", StringComparison.Ordinal))
        {
            Assert.Null(violation);
        }
        else
        {
            Assert.NotNull(violation);
        }
    }

    private static (string Output, string? Violation) Replay(string text)
    {
        var env = new ScenarioEnvironment();
        var output = new StringBuilder();
        var lines = text.Split('\n');
        var i = 0;
        while (i < lines.Length)
        {
            var line = lines[i];
            if (line.Length == 0 || line.StartsWith('#'))
            {
                output.Append(line);
                i++;
                if (i < lines.Length)
                {
                    output.Append('\n');
                }

                continue;
            }

            output.Append(line).Append('\n');
            i++;
            if (i < lines.Length && lines[i] == "----")
            {
                i++;
                while (i < lines.Length && lines[i].Length > 0)
                {
                    i++;
                }
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var args = parts.Skip(1).Where(p => !p.Contains('=') || p.StartsWith('(')).ToList();
            var options = parts.Skip(1).Where(p => p.Contains('=') && !p.StartsWith('(')).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            if (parts[0] == "deliver-msgs" && args.Remove("drop"))
            {
                options["drop"] = "true";
            }

            string result;
            try
            {
                result = env.Run(parts[0], args, options);
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                result = $"ERROR {e.GetType().Name}: {e.Message}\n";
            }

            output.Append("----\n").Append(result);
            if (i < lines.Length)
            {
                output.Append('\n');
                if (lines[i].Length == 0)
                {
                    i++;
                }
            }
        }

        return (output.ToString(), env.Violation);
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(Path.GetDirectoryName(path)!)!;
}
