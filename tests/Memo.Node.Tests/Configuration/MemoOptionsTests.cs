using System.Text.RegularExpressions;
using Memo.Node.Configuration;

namespace Memo.Node.Tests.Configuration;

public sealed class MemoOptionsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("memo-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static HoconObject Defaults => HoconParser.Parse(File.ReadAllText(RepoFiles.DefaultsFile), "memo.conf");

    private static MemoOptions Load(params string[] overrides) => MemoOptions.Load(RepoFiles.DefaultsFile, null, overrides);

    private static IReadOnlyList<string> Problems(Action load) =>
        Assert.Throws<MemoConfigurationException>(load).Problems;

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Defaults_load_from_the_real_memo_conf()
    {
        var o = Load();

        Assert.Equal(new NodeOptions("127.0.0.1:5090", "./memo-data", [], TimeSpan.FromSeconds(10)), o.Node);
        Assert.Equal(new GrpcOptions(16L << 20, 16L << 20, 1024), o.Grpc);
        Assert.Equal(new StorageOptions(StorageSynchronous.Full, 10_000, 64L << 20, 4, 65_536), o.Storage);
        Assert.Equal(new ShardOptions(64, 4096, 1024, 4), o.Shards);
        Assert.Equal(new KvsOptions(4096, 8L << 20, 10_000, 1000), o.Kvs);
        Assert.Equal(new NetworkOptions(3, TimeSpan.FromMinutes(10)), o.Network);
        Assert.Equal(new RaftOptions(TimeSpan.FromMilliseconds(100), 10, 1, 256, 1L << 20, 10_000), o.Raft);
        Assert.Empty(o.Validate());
    }

    [Fact]
    public void The_build_copies_the_defaults_beside_the_binaries_where_Load_finds_them()
    {
        Assert.True(File.Exists(MemoOptions.DefaultsFilePath), MemoOptions.DefaultsFilePath);

        Assert.Equal(Load(), MemoOptions.Load(null, []));
    }

    [Fact]
    public void Every_key_in_memo_conf_is_documented_by_a_comment_above_it()
    {
        var lines = File.ReadAllLines(RepoFiles.DefaultsFile);
        var undocumented = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (!Regex.IsMatch(line, @"^[a-z][a-z0-9-]*\s*=") )
            {
                continue;
            }

            var above = i - 1;
            while (above >= 0 && lines[above].Trim().Length == 0)
            {
                above--;
            }

            if (above < 0 || !lines[above].TrimStart().StartsWith('#'))
            {
                undocumented.Add($"line {i + 1}: {line}");
            }
        }

        Assert.Empty(undocumented);
    }

    [Fact]
    public void Every_key_in_memo_conf_is_read_into_the_options()
    {
        // Removing any one leaf must make FromConfig name it: so no key in the file is ignored by the code.
        var defaults = Defaults;
        var leaves = Leaves(defaults, "").ToList();
        Assert.Equal(45, leaves.Count);
        foreach (var path in leaves)
        {
            var problems = Problems(() => MemoOptions.FromConfig(Without(defaults, path.Split('.'))));

            Assert.Equal([$"{path}: missing; every key must be defined (is hocon/memo.conf complete?)"], problems);
        }
    }

    [Fact]
    public void FromConfig_names_every_missing_key_at_once()
    {
        var problems = Problems(() => MemoOptions.FromConfig(HoconParser.Parse("memo.node.listen = \"a:1\"")));

        Assert.Equal(44, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("memo.raft.snapshot-threshold: missing", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.StartsWith("memo.node.listen", StringComparison.Ordinal));
    }

    [Fact]
    public void A_user_file_overrides_the_defaults_and_overrides_win_over_the_file()
    {
        var file = WriteFile("user.conf", """
            memo {
              shards.count = 128
              node { listen = "0.0.0.0:6000", seeds = ["10.0.0.1:5090", "10.0.0.2:5090"] }
              storage.synchronous = normal
            }
            """);

        var o = MemoOptions.Load(RepoFiles.DefaultsFile, file, ["memo.shards.count=256", "memo.raft.tick-interval = 50ms"]);

        Assert.Equal(256, o.Shards.Count);
        Assert.Equal(4096, o.Shards.MailboxCapacity);
        Assert.Equal("0.0.0.0:6000", o.Node.Listen);
        Assert.Equal("./memo-data", o.Node.DataDirectory);
        Assert.Equal<string>(["10.0.0.1:5090", "10.0.0.2:5090"], o.Node.Seeds);
        Assert.Equal(StorageSynchronous.Normal, o.Storage.Synchronous);
        Assert.Equal(TimeSpan.FromMilliseconds(50), o.Raft.TickInterval);
    }

    [Fact]
    public void Validation_reports_every_broken_rule_at_once()
    {
        var problems = Problems(() => Load(
            "memo.shards.count = 48",
            "memo.raft.election-ticks = 1",
            "memo.kvs.default-list-keys = 20000",
            "memo.node.listen = nope",
            "memo.node.seeds = [\"10.0.0.1:0\"]",
            "memo.network.eviction-delay = 0s"));

        Assert.Equal(
        [
            "memo.node.listen = \"nope\": must be host:port with a port in 0..65535 (IPv6 as [addr]:port)",
            "memo.node.seeds[0] = \"10.0.0.1:0\": must be host:port with a port in 1..65535",
            "memo.shards.count = 48: must be a power of two",
            "memo.kvs.default-list-keys = 20000: must be between 1 and 10000",
            "memo.network.eviction-delay = 0s: must be between 1s and 30d",
            "memo.raft.election-ticks = 1: must be between 2 and 10000",
            "memo.raft.election-ticks = 1: must be greater than memo.raft.heartbeat-ticks (1)",
        ], problems);
    }

    [Fact]
    public void Rules_that_span_sections_are_checked()
    {
        var problems = Problems(() => Load(
            "memo.kvs.max-value-bytes = 16MiB",
            "memo.storage.max-batch-bytes = 4MiB",
            "memo.raft.max-append-bytes = 32MiB"));

        Assert.Equal(3, problems.Count);
        Assert.StartsWith("memo.kvs.max-value-bytes = 16MiB: plus memo.kvs.max-key-bytes must be less than", problems[0], StringComparison.Ordinal);
        Assert.Equal("memo.storage.max-batch-bytes = 4MiB: must be at least memo.kvs.max-value-bytes (16MiB)", problems[1]);
        Assert.Equal("memo.raft.max-append-bytes = 32MiB: must not exceed the gRPC message limits (16MiB)", problems[2]);
    }

    [Fact]
    public void Validate_checks_options_changed_in_code()
    {
        var o = Load();
        var changed = o with { Shards = o.Shards with { Count = 0 }, Storage = o.Storage with { ReadConnections = 100 } };

        Assert.Equal(
            ["memo.storage.read-connections = 100: must be between 1 and 64", "memo.shards.count = 0: must be between 1 and 65536"],
            changed.Validate());
    }

    [Fact]
    public void An_unknown_key_is_an_error_with_a_suggestion()
    {
        var problems = Problems(() => Load("memo.shards.cuont = 8", "memo.nodes.listen = \"a:1\""));

        Assert.Equal(2, problems.Count);
        Assert.StartsWith("memo.shards.cuont (override 'memo.shards.cuont = 8':1:21): unknown key; did you mean 'count'?", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("memo.nodes (override 'memo.nodes.listen = \"a:1\"':1:1): unknown key; did you mean 'node'?", problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_where_an_object_belongs_and_ill_typed_values_are_all_reported()
    {
        var problems = Problems(() => Load("memo.shards = 5", "memo.raft.tick-interval = fast", "memo.kvs.max-value-bytes = lots"));

        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("memo.shards = 5 (", StringComparison.Ordinal) && p.EndsWith("expected an object with keys count, mailbox-capacity, max-commands-per-turn, max-concurrent-moves", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("memo.raft.tick-interval = fast (override 'memo.raft.tick-interval = fast':1:27): expected a duration", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("memo.kvs.max-value-bytes = lots (", StringComparison.Ordinal) && p.Contains("expected a size in bytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Syntax_errors_in_the_file_and_every_override_are_reported_together()
    {
        var file = WriteFile("broken.conf", "memo {\n  shards.count = \"64\n}");

        var problems = Problems(() => MemoOptions.Load(RepoFiles.DefaultsFile, file, ["memo.shards.count=[", "memo.x"]));

        Assert.Equal(3, problems.Count);
        Assert.Equal($"{file}:2:18: unterminated string: this '\"' has no closing '\"' on the same line", problems[0]);
        Assert.Equal("override 'memo.shards.count=[':1:19: unterminated list: this '[' has no matching ']'", problems[1]);
        Assert.StartsWith("override 'memo.x':1:7: expected '=', ':' or '{' after key 'memo.x'", problems[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_files_are_reported()
    {
        var missing = Path.Combine(_directory, "nope.conf");

        var problems = Problems(() => MemoOptions.Load(missing, missing, []));

        Assert.Equal([$"defaults file '{missing}' not found", $"config file '{missing}' not found"], problems);
    }

    [Fact]
    public void The_exception_message_lists_every_problem()
    {
        var e = Assert.Throws<MemoConfigurationException>(() => Load("memo.shards.count = 3", "memo.raft.heartbeat-ticks = 0"));

        Assert.StartsWith("invalid configuration (2 problems):", e.Message, StringComparison.Ordinal);
        Assert.Contains("  - memo.shards.count = 3: must be a power of two", e.Message, StringComparison.Ordinal);
        Assert.Contains("  - memo.raft.heartbeat-ticks = 0: must be between 1 and 1000", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:5090", "127.0.0.1", 5090)]
    [InlineData("node-1.example:0", "node-1.example", 0)]
    [InlineData("[::1]:7000", "::1", 7000)]
    public void Host_and_port_split_at_the_last_colon(string text, string host, int port)
    {
        Assert.True(NodeOptions.TryParseHostPort(text, out var h, out var p));
        Assert.Equal((host, port), (h, p));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData(":5090")]
    [InlineData("host:")]
    [InlineData("host:65536")]
    [InlineData("host:-1")]
    [InlineData("::1:5090")]
    [InlineData("[::1:5090")]
    public void Malformed_host_and_port_is_rejected(string text) =>
        Assert.False(NodeOptions.TryParseHostPort(text, out _, out _));

    private static IEnumerable<string> Leaves(HoconObject obj, string prefix)
    {
        foreach (var key in obj.Keys)
        {
            obj.TryGetField(key, out var value);
            var path = prefix.Length == 0 ? key : prefix + "." + key;
            if (value.TryGetObject(out var child))
            {
                foreach (var leaf in Leaves(child, path))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return path;
            }
        }
    }

    private static HoconObject Without(HoconObject obj, ReadOnlySpan<string> path)
    {
        var fields = new List<KeyValuePair<string, HoconValue>>();
        foreach (var key in obj.Keys)
        {
            obj.TryGetField(key, out var value);
            if (key != path[0])
            {
                fields.Add(new(key, value));
            }
            else if (path.Length > 1)
            {
                fields.Add(new(key, HoconValue.Object(Without(value.GetObject(), path[1..]), value.Position)));
            }
        }

        return HoconObject.Create(fields);
    }
}
