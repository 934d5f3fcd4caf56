using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Memo.Node.Configuration;

namespace Memo.Node.Tests.Configuration;

public sealed class MemoOptionsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("memo-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static MemoOptions Load(params string[] overrides) => MemoOptions.Load(null, overrides);

    private static ConfigLayer Layer(string text) => new($"layer '{text}'", ConfigurationFactory.ParseString(text));

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
        Assert.Equal(new GrpcOptions(16L << 20, 16L << 20, 100, TimeSpan.FromSeconds(30), 64, 256L << 20, TimeSpan.FromSeconds(1), 4096, TimeSpan.FromSeconds(5), 4 * 1024), o.Grpc);
        Assert.Equal(new StorageOptions(StorageSynchronous.Full, 10_000, 64L << 20, 4, 65_536, 64L << 20, InlineCommits: false, CopyFileThreshold: 64 * 1024, WriterSpin: TimeSpan.FromMicroseconds(400)), o.Storage);
        Assert.Equal(new ShardOptions(64, 4096, 1024, 4, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60)), o.Shards);
        Assert.Equal(new KvsOptions(4096, 8L << 20, 10_000, 1000), o.Kvs);
        Assert.Equal(new NetworkOptions(3, TimeSpan.FromMinutes(10)), o.Network);
        Assert.Equal(new RaftOptions(TimeSpan.FromMilliseconds(100), 10, 1, 256, 1L << 20, 10_000), o.Raft);
        Assert.Empty(o.Validate());
    }

    [Fact]
    public void The_defaults_are_built_into_the_node_from_hocon_memo_conf()
    {
        Assert.Equal(File.ReadAllText(RepoFiles.DefaultsFile), MemoOptions.ReferenceText);
    }

    [Fact]
    public void Two_loads_of_the_same_settings_are_equal_options()
    {
        Assert.Equal(Load("memo.shards.count = 8"), Load("memo.shards.count = 8"));
        Assert.NotEqual(Load("memo.shards.count = 8"), Load("memo.shards.count = 16"));
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
        var leaves = Leaves(MemoOptions.ParseReference().Root.GetObject(), "").ToList();
        Assert.Equal(78, leaves.Count);
        foreach (var path in leaves)
        {
            var defaults = MemoOptions.ParseReference();
            Without(defaults.Root.GetObject(), path.Split('.'));

            var problems = Problems(() => MemoOptions.FromConfig(defaults));

            Assert.Equal([$"{path}: missing; every key must be defined (is hocon/memo.conf complete?)"], problems);
        }
    }

    [Fact]
    public void FromConfig_names_every_missing_key_at_once()
    {
        var problems = Problems(() => MemoOptions.FromConfig(ConfigurationFactory.ParseString("memo.node.listen = \"a:1\"")));

        Assert.Equal(77, problems.Count);
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
              api.insecure = on
            }
            """);

        var o = MemoOptions.Load(file, ["memo.shards.count=256", "memo.raft.tick-interval = 50ms"]);

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
            "memo.raft.election-ticks = 1: must be at least 4 with memo.raft.lease-reads = on (the lease is the election timeout less a margin)",
        ], problems);
    }

    [Fact]
    public void The_writer_spin_takes_microseconds_and_is_bounded()
    {
        Assert.Equal(TimeSpan.FromMicroseconds(150), Load("memo.storage.writer-spin = 150us").Storage.WriterSpin);

        Assert.Equal(["memo.storage.writer-spin = 20ms: must be between 0s and 10ms"], Problems(() => Load("memo.storage.writer-spin = 20ms")));
    }

    [Fact]
    public void Resource_limits_are_validated_against_each_other()
    {
        var problems = Problems(() => Load(
            "memo.grpc.request-buffer-budget = 8MiB",
            "memo.grpc.min-request-data-rate-grace-period = 1s",
            "memo.grpc.max-connections-per-address = 0",
            "memo.kvs.max-list-rows = 10000"));

        Assert.Equal(
        [
            "memo.grpc.max-connections-per-address = 0: must be between 1 and 1000000",
            "memo.grpc.request-buffer-budget = 8MiB: must be between 16777221 and 1TiB",
            "memo.grpc.min-request-data-rate-grace-period = 1s: must be between 2s and 1h",
            "memo.kvs.max-list-rows = 10000: must be between 10001 and 100000000",
        ], problems);
    }

    [Fact]
    public void The_receive_block_size_is_read_and_held_between_4_KiB_and_1_MiB()
    {
        Assert.Equal(4 * 1024, Load().Grpc.ReceiveBlockSize);
        Assert.Equal(16 * 1024, Load("memo.grpc.receive-block-size = 16KiB").Grpc.ReceiveBlockSize);

        Assert.Equal(
            ["memo.grpc.receive-block-size = 2KiB: must be between 4KiB and 1MiB", "memo.grpc.receive-block-size = 2MiB: must be between 4KiB and 1MiB"],
            [.. Problems(() => Load("memo.grpc.receive-block-size = 2KiB")), .. Problems(() => Load("memo.grpc.receive-block-size = 2MiB"))]);
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
    public void Unknown_memo_keys_are_errors_naming_the_key_its_source_and_the_known_keys()
    {
        var problems = Problems(() => Load("memo.shards.cuont = 8", "memo.nodes.listen = \"a:1\""));

        Assert.Equal(
        [
            "memo.shards.cuont (override 'memo.shards.cuont = 8'): unknown key (known here: count, mailbox-capacity, max-commands-per-turn, max-concurrent-moves, ring-removal-delay, handoff-timeout, anti-entropy-interval, anti-entropy-max-copies, usage-interval, restart-backoff-min, restart-backoff-max, turn-loop)",
            "memo.nodes (override 'memo.nodes.listen = \"a:1\"'): unknown key (known here: node, api, metrics, grpc, storage, shards, kvs, network, security, cluster, raft, peer)",
        ], problems);
    }

    [Fact]
    public void A_removed_key_is_an_unknown_key()
    {
        // memo.grpc.inline-scheduling (Kestrel's inline scheduling) was removed: a file still setting it is refused.
        var problems = Problems(() => Load("memo.grpc.inline-scheduling = off"));

        Assert.Equal(
        [
            "memo.grpc.inline-scheduling (override 'memo.grpc.inline-scheduling = off'): unknown key (known here: max-receive-message-size, max-send-message-size, max-concurrent-streams, max-connections-per-address, request-buffer-budget, request-buffer-wait, min-request-data-rate, min-request-data-rate-grace-period, default-deadline, receive-block-size)",
        ], problems);
    }

    [Fact]
    public void Top_level_keys_other_than_memo_and_akka_are_unknown()
    {
        var problems = Problems(() => Load("memo.shards.count = 8", "mmeo.shards.count = 8"));

        Assert.Equal(["mmeo (override 'mmeo.shards.count = 8'): unknown key (known here: memo, akka)"], problems);
    }

    [Fact]
    public void The_akka_section_passes_through_to_the_merged_config_later_layers_winning()
    {
        var file = WriteFile("akka.conf", """
            akka {
              loglevel = DEBUG
              actor.provider = cluster
              anything-akka-defines { x = 1 }
            }
            memo.shards.count = 16
            """);

        var o = MemoOptions.Load(file, ["akka.loglevel = INFO"]);

        Assert.Equal(16, o.Shards.Count);
        Assert.Equal("INFO", o.Config.GetString("akka.loglevel"));
        Assert.Equal("cluster", o.Config.GetString("akka.actor.provider"));
        Assert.Equal(1, o.Config.GetInt("akka.anything-akka-defines.x"));
        Assert.Equal("16", o.Config.GetString("memo.shards.count"));
        Assert.Equal("64MiB", o.Config.GetString("memo.storage.max-batch-bytes"));
    }

    [Fact]
    public void A_value_where_an_object_belongs_and_ill_typed_values_are_all_reported()
    {
        var problems = Problems(() => Load("memo.shards = 5", "memo.raft.tick-interval = fast", "memo.kvs.max-value-bytes = lots",
            "memo.node.listen { host = a }"));

        Assert.Equal(
        [
            "memo.shards = 5 (override 'memo.shards = 5'): expected an object with keys count, mailbox-capacity, max-commands-per-turn, max-concurrent-moves, ring-removal-delay, handoff-timeout, anti-entropy-interval, anti-entropy-max-copies, usage-interval, restart-backoff-min, restart-backoff-max, turn-loop",
            "memo.node.listen (override 'memo.node.listen { host = a }'): expected a value, found an object",
            "memo.kvs.max-value-bytes = lots (override 'memo.kvs.max-value-bytes = lots'): expected " + ConfigUnits.SizeHint,
            "memo.raft.tick-interval = fast (override 'memo.raft.tick-interval = fast'): expected " + ConfigUnits.DurationHint,
        ], problems);
    }

    [Theory]
    [InlineData("memo.raft.tick-interval = 5", "memo.raft.tick-interval = 5 (override 'memo.raft.tick-interval = 5'): expected a duration with a unit, e.g. 250ms, 5s, 10m, 1h, 2d")]
    [InlineData("memo.raft.tick-interval = \"-5s\"", "memo.raft.tick-interval = -5s (override 'memo.raft.tick-interval = \"-5s\"'): expected a duration with a unit, e.g. 250ms, 5s, 10m, 1h, 2d")]
    [InlineData("memo.kvs.max-value-bytes = 1.3B", "memo.kvs.max-value-bytes = 1.3B (override 'memo.kvs.max-value-bytes = 1.3B'): expected a size in bytes, e.g. 4096, 64KiB, 16MiB, 1GiB, 4MB")]
    [InlineData("memo.shards.count = 9000000000", "memo.shards.count = 9000000000 (override 'memo.shards.count = 9000000000'): expected an integer")]
    [InlineData("memo.shards.count = 8.5", "memo.shards.count = 8.5 (override 'memo.shards.count = 8.5'): expected an integer")]
    [InlineData("memo.shards.turn-loop = thread", "memo.shards.turn-loop = thread (override 'memo.shards.turn-loop = thread'): expected one of replica, node")]
    [InlineData("memo.shards.ring-removal-delay = soon", "memo.shards.ring-removal-delay = soon (override 'memo.shards.ring-removal-delay = soon'): expected a duration with a unit, e.g. 250ms, 5s, 10m, 1h, 2d")]
    [InlineData("memo.storage.synchronous = fast", "memo.storage.synchronous = fast (override 'memo.storage.synchronous = fast'): expected one of full, normal")]
    [InlineData("memo.peer.transport = grpc", "memo.peer.transport = grpc (override 'memo.peer.transport = grpc'): expected one of akka, tcp")]
    [InlineData("memo.node.seeds = \"a:1\"", "memo.node.seeds = \"a:1\" (override 'memo.node.seeds = \"a:1\"'): expected a list of strings, e.g. [\"10.0.0.1:5090\"]")]
    [InlineData("memo.node.seeds = [\"a:1\", [\"b:2\"]]", "memo.node.seeds[1] = [\"b:2\"] (override 'memo.node.seeds = [\"a:1\", [\"b:2\"]]'): expected a string")]
    [InlineData("memo.node.listen = [\"a:1\"]", "memo.node.listen = [\"a:1\"] (override 'memo.node.listen = [\"a:1\"]'): expected a string")]
    public void A_bad_value_names_the_key_its_source_and_the_accepted_forms(string text, string problem) =>
        Assert.Equal([problem], Problems(() => Load(text)));

    [Fact]
    public void The_peer_transport_is_tcp_by_default_with_its_own_listen_address_and_akka_on_request()
    {
        Assert.Equal((PeerTransportKind.Tcp, "", ""), (Load().Peer.Transport, Load().Node.Peer, Load().Node.PeerAdvertise));

        var o = Load("memo.peer.transport = akka", "memo.node.peer = \"10.0.0.1:5092\"");

        Assert.Equal((PeerTransportKind.Akka, "10.0.0.1:5092"), (o.Peer.Transport, o.Node.Peer));
        Assert.Contains(Problems(() => Load("memo.node.peer = \"nowhere\"")), p => p.StartsWith("memo.node.peer", StringComparison.Ordinal));
    }

    [Fact]
    public void The_peer_address_advertised_can_differ_from_the_one_bound_but_must_be_reachable()
    {
        var o = Load("memo.node.peer = \"0.0.0.0:5092\"", "memo.node.peer-advertise = \"gateway.example:15092\"");

        Assert.Equal(("0.0.0.0:5092", "gateway.example:15092"), (o.Node.Peer, o.Node.PeerAdvertise));
        foreach (var bad in new[] { "gateway.example", "gateway.example:0", "0.0.0.0:5092", "[::]:5092" })
        {
            Assert.Equal([$"memo.node.peer-advertise = \"{bad}\": must be empty or host:port with a port in 1..65535 and a host peers can reach"],
                Problems(() => Load($"memo.node.peer-advertise = \"{bad}\"")));
        }
    }

    [Fact]
    public void Durations_and_sizes_follow_memos_units_not_akkas()
    {
        // Akka's GetTimeSpan throws on "us" and its GetByteSize on fractions; memo's rules accept both.
        var o = Load("memo.node.shutdown-grace-period = 1500us", "memo.kvs.max-value-bytes = 1.5MiB", "memo.raft.tick-interval = \"2 seconds\"");

        Assert.Equal(TimeSpan.FromMilliseconds(1.5), o.Node.ShutdownGracePeriod);
        Assert.Equal(1_572_864, o.Kvs.MaxValueBytes);
        Assert.Equal(TimeSpan.FromSeconds(2), o.Raft.TickInterval);
    }

    [Fact]
    public void A_key_left_without_a_value_is_reported()
    {
        var file = WriteFile("novalue.conf", "memo.shards.count\n");

        var problems = Problems(() => MemoOptions.Load(file, []));

        Assert.Equal([$"memo.shards.count = (no value) (config file '{file}'): expected an integer"], problems);
    }

    [Fact]
    public void Later_layers_win_over_earlier_ones_and_objects_merge()
    {
        var o = MemoOptions.FromLayers(MemoOptions.ParseReference(),
        [
            Layer("memo.shards { count = 8, mailbox-capacity = 2048 }"),
            Layer("memo.shards.count = 16"),
            Layer("memo.node.seeds = [\"a:1\", \"b:2\"]"),
            Layer("memo.node.seeds = [\"c:3\"]"),
        ]);

        Assert.Equal(new ShardOptions(16, 2048, 1024, 4, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60)), o.Shards);
        Assert.Equal<string>(["c:3"], o.Node.Seeds);
    }

    [Fact]
    public void Defaults_with_substitutions_are_refused_because_a_later_layer_would_not_reach_them()
    {
        // Akka resolves ${...} while it parses one text: with "b = ${a}" in the defaults, b would keep the default
        // of a after a later layer changed a. So the defaults use no substitutions, and a reference that does is refused.
        Assert.Empty(MemoOptions.ParseReference().Substitutions);
        var reference = ConfigurationFactory.ParseString(MemoOptions.ReferenceText + "\nmemo.raft.heartbeat-ticks = ${memo.raft.election-ticks}");

        var problems = Problems(() => MemoOptions.FromLayers(reference, [Layer("memo.raft.election-ticks = 20")]));

        Assert.Equal(
        [
            "defaults (hocon/memo.conf): uses substitutions (${memo.raft.election-ticks}), which memo does not support: " +
            "Akka resolves them within one text, before later layers apply",
        ], problems);
    }

    [Fact]
    public void Substitutions_in_a_file_or_an_override_are_refused_before_Akka_parses_them()
    {
        var file = WriteFile("subst.conf", "memo.shards.count = 8\nmemo.kvs.max-list-keys = ${memo.kvs.max-list-keys}\n");

        var problems = Problems(() => MemoOptions.Load(file, ["memo.node.listen = ${?LISTEN}"]));

        Assert.Equal(2, problems.Count);
        Assert.StartsWith($"config file '{file}': line 2: substitutions (${{...}}) are not supported", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("override 'memo.node.listen = ${?LISTEN}': line 1: substitutions (${...}) are not supported", problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Syntax_errors_in_the_file_and_every_override_are_reported_together_naming_each_source()
    {
        var file = WriteFile("broken.conf", "memo {\n  shards.count = \"\\q\"\n}");

        var problems = Problems(() => MemoOptions.Load(file, ["memo.node.listen = 10.0.0.1:5090", "memo.shards.count = 1,,", "memo.kvs { max-key-bytes = 1"]));

        Assert.Equal(
        [
            $"config file '{file}': Akka's HOCON parser reports: Unknown escape code: q",
            "override 'memo.node.listen = 10.0.0.1:5090': Akka's HOCON parser reports: Could not parse an unquoted text value containing " +
            "assignment character '=' or ':'. - If you want to declare a new object, please enclose the item with curly brackets. " +
            "- If you want to declare a URI address, please enclose the item with double quotes.",
            "override 'memo.shards.count = 1,,': Akka's HOCON parser reports: Unknown token at position 22: memo.shards.count = 1,, ^",
            "override 'memo.kvs { max-key-bytes = 1': line 1: this '{' is never closed",
        ], problems);
    }

    [Fact]
    public void Missing_files_are_reported()
    {
        var missing = Path.Combine(_directory, "nope.conf");

        var problems = Problems(() => MemoOptions.Load(missing, []));

        Assert.Equal([$"config file '{missing}' not found"], problems);
    }

    [Fact]
    public void Include_is_refused_with_a_message_instead_of_Akkas_null_reference()
    {
        var file = WriteFile("include.conf", "include \"other.conf\"\nmemo.shards.count = 8\n");

        var problems = Problems(() => MemoOptions.Load(file, []));

        Assert.Equal([$"config file '{file}': Akka's HOCON parser reports: include \"other.conf\" is not supported; pass the settings in the --config file"], problems);
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
        foreach (var (key, value) in obj.Items)
        {
            var path = prefix.Length == 0 ? key : prefix + "." + key;
            if (value.GetObject() is { } child)
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

    /// <summary>Removes the leaf at <paramref name="path"/> from a freshly parsed (and so unshared) tree.</summary>
    private static void Without(HoconObject obj, ReadOnlySpan<string> path)
    {
        if (path.Length == 1)
        {
            Assert.True(obj.Items.Remove(path[0]), path[0]);
            return;
        }

        Without(obj.Items[path[0]].GetObject(), path[1..]);
    }
}
