using Memo.Cli;
using Memo.Cli.Commands;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Cli;

/// <summary><c>memo kv import</c> and <c>export</c> against a real in-process node.</summary>
public sealed class KvImportExportTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-import-" + Guid.NewGuid().ToString("n"));
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(["memo.shards.count = 4"]);

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<(int Code, FakeIo Io)> RunAsync(params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--node", _node.Address, "--timeout", "30s"]);
        return (code, io);
    }

    [Fact]
    public async Task Importing_ten_thousand_files_shows_progress_then_a_summary_and_export_writes_them_back()
    {
        var source = Path.Combine(_root, "in");
        for (var i = 0; i < 10_000; i++)
        {
            var folder = Path.Combine(source, $"d{i % 10}");
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, $"f{i}.txt"), $"value {i}");
        }

        var (code, io) = await RunAsync("kv", "import", source, "--prefix", "bulk/", "--concurrency", "32");
        output.WriteLine(io.Err.ToString());
        output.WriteLine(io.Out.ToString());
        Assert.Equal(ExitCodes.Ok, code);
        var progress = io.Err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(progress.Length >= 2, $"progress lines: {io.Err}");
        Assert.All(progress, line => Assert.StartsWith("import: ", line, StringComparison.Ordinal));
        Assert.StartsWith("import: 10,000/10,000 files (100%", progress[^1], StringComparison.Ordinal);
        Assert.StartsWith($"imported 10,000 of 10,000 files (", io.Out.ToString(), StringComparison.Ordinal);
        using (var client = _node.Client())
        {
            Assert.Equal("value 1234"u8.ToArray(), await client.FetchAsync("bulk/d4/f1234.txt"));
        }

        var target = Path.Combine(_root, "out");
        var (exported, exportIo) = await RunAsync("kv", "export", target, "--prefix", "bulk/", "--concurrency", "32");
        output.WriteLine(exportIo.Out.ToString());
        Assert.Equal(ExitCodes.Ok, exported);
        Assert.StartsWith("exported 10,000 of 10,000 keys (", exportIo.Out.ToString(), StringComparison.Ordinal);
        Assert.Equal(10_000, Directory.GetFiles(target, "*", SearchOption.AllDirectories).Length);
        Assert.Equal("value 9999", await File.ReadAllTextAsync(Path.Combine(target, "d9", "f9999.txt")));
    }

    [Fact]
    public async Task Import_in_insert_mode_leaves_existing_keys_and_json_gives_the_counts()
    {
        var source = Path.Combine(_root, "small");
        Directory.CreateDirectory(source);
        await File.WriteAllTextAsync(Path.Combine(source, "a"), "new");
        await File.WriteAllTextAsync(Path.Combine(source, "b"), "new");
        using (var client = _node.Client())
        {
            await client.UpsertAsync("a", "old"u8.ToArray());
        }

        var (code, io) = await RunAsync("kv", "import", source, "--mode", "insert", "--json");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", io.Err.ToString()); // no progress lines in JSON mode
        using var json = System.Text.Json.JsonDocument.Parse(io.Out.ToString());
        Assert.Equal(1, json.RootElement.GetProperty("imported").GetInt64());
        Assert.Equal(1, json.RootElement.GetProperty("skipped").GetInt64());
        using var check = _node.Client();
        Assert.Equal("old"u8.ToArray(), await check.FetchAsync("a"));
    }

    [Fact]
    public async Task Import_stops_at_the_first_refused_key_and_names_it()
    {
        var source = Path.Combine(_root, "refused");
        Directory.CreateDirectory(source);
        await File.WriteAllTextAsync(Path.Combine(source, "v"), "refused");
        // The prefix alone is as long as memo.kvs.max-key-bytes (4096), so the file's key is over the limit.
        var prefix = new string('k', 4096);

        var (code, io) = await RunAsync("kv", "import", source, "--prefix", prefix, "--json");

        Assert.NotEqual(ExitCodes.Ok, code);
        using var json = System.Text.Json.JsonDocument.Parse(io.Out.ToString());
        Assert.Equal(0, json.RootElement.GetProperty("imported").GetInt64());
        Assert.Equal(prefix + "v", json.RootElement.GetProperty("stoppedAt").GetString());
        Assert.Contains($"stopped at key '{prefix}v'", io.Err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_skips_keys_that_would_leave_the_folder()
    {
        using (var client = _node.Client())
        {
            await client.UpsertAsync("x/../../escape", "no"u8.ToArray());
            await client.UpsertAsync("x/fine", "yes"u8.ToArray());
        }
        var target = Path.Combine(_root, "safe");
        var (code, io) = await RunAsync("kv", "export", target, "--prefix", "x/");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("skipped 1 keys that are not safe file paths", io.Out.ToString(), StringComparison.Ordinal);
        Assert.Equal(["fine"], Directory.GetFiles(target, "*", SearchOption.AllDirectories).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(_root, "escape")));
    }

    [Fact]
    public void Keys_map_to_relative_paths_and_unsafe_ones_to_none()
    {
        Assert.Equal("p/a/b.txt", KvTransfer.KeyOf("/data", Path.Combine("/data", "a", "b.txt"), "p/"));
        Assert.Equal(Path.Combine("/out", "a", "b.txt"), KvTransfer.FileOf("/out", "p/a/b.txt", "p/"));
        Assert.Null(KvTransfer.FileOf("/out", "p/../etc/passwd", "p/"));
        Assert.Null(KvTransfer.FileOf("/out", "p//double", "p/"));
        Assert.Null(KvTransfer.FileOf("/out", "other/a", "p/"));
    }
}
