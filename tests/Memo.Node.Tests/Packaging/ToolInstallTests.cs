using System.Diagnostics;
using System.IO.Compression;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Packaging;

/// <summary>
/// What a person installs: <c>scripts/publish.sh</c> packs the tool and the two libraries (from the Release build the
/// test run already made), the tool installs from that folder with <c>dotnet tool install</c>, and the installed
/// <c>memo</c> talks to a real node. The self-contained node publish is left out here (it downloads runtime packs and
/// takes minutes); <c>scripts/publish.sh</c> without <c>--packages-only</c> makes it.
/// </summary>
public sealed class ToolInstallTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_published_tool_installs_from_the_local_folder_and_puts_and_gets_against_a_node()
    {
        var root = Path.Combine(Path.GetTempPath(), "memo-publish-" + Guid.NewGuid().ToString("n"));
        try
        {
            var watch = Stopwatch.StartNew();
            var published = await RunAsync("bash", [Path.Combine(TestPaths.RepositoryRoot, "scripts", "publish.sh"), "--out", root, "--packages-only", "--no-build"],
                TestPaths.RepositoryRoot);
            output.WriteLine($"publish.sh --packages-only: {watch.Elapsed.TotalSeconds:F1} s\n{published}");
            var packages = Directory.GetFiles(Path.Combine(root, "packages"), "*.nupkg").Select(Path.GetFileName).Order().ToList();
            Assert.Equal(3, packages.Count);
            Assert.Contains(packages, p => p!.StartsWith("memo.", StringComparison.Ordinal));
            foreach (var library in (string[])["Memo.Protocol", "Memo.Client.Akka"])
            {
                var file = Directory.GetFiles(Path.Combine(root, "packages"), library + ".*.nupkg").Single();
                using var zip = ZipFile.OpenRead(file);
                Assert.Contains(zip.Entries, e => e.FullName == "README.md");
                Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{library}.xml"); // XML docs for IntelliSense
            }

            // A fresh package cache: the tool must come from this folder, not from an earlier run's cached copy.
            var tools = Path.Combine(root, "tools");
            watch.Restart();
            await RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", Path.Combine(root, "packages"), "memo"], root,
                ("NUGET_PACKAGES", Path.Combine(root, "nuget-cache")));
            output.WriteLine($"dotnet tool install: {watch.Elapsed.TotalSeconds:F1} s");
            var memo = Path.Combine(tools, "memo");

            var version = await RunAsync(memo, ["--version"], root);
            Assert.Matches(@"^\d+\.\d+\.\d+", version.Trim());

            await using var node = await TestNode.StartAsync(["memo.shards.count = 4"]);
            await RunAsync(memo, ["kv", "put", "installed", "yes", "--node", node.Address], root);
            var value = await RunAsync(memo, ["kv", "get", "installed", "--node", node.Address], root);
            Assert.Equal("yes", value.TrimEnd('\n'));
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<string> RunAsync(string file, string[] arguments, string directory, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        var text = await stdout;
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{text}\n{await stderr}");
        return text;
    }
}
