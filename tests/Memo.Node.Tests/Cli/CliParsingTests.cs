using Memo.Cli;
using Memo.Cli.Bench;
using Memo.Cli.Commands;
using Memo.Protocol.Blocks;

namespace Memo.Node.Tests.Cli;

public class CliParsingTests
{
    private const string Address = "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeefe";

    private static MemoCli Cli(FakeIo? io = null) => new((io ?? new FakeIo()).Io);

    [Fact]
    public void Kv_put_defaults_to_upsert_on_the_default_node_with_a_30s_timeout()
    {
        var cli = Cli();
        var result = cli.Parse("kv", "put", "greeting", "hello");
        Assert.Empty(result.Errors);
        var s = cli.Kv.Put.Bind(result);
        Assert.Equal("greeting", s.Key);
        Assert.Equal("hello", s.Value);
        Assert.Null(s.File);
        Assert.Equal(PutMode.Upsert, s.Mode);
        Assert.Equal(new ConnectionSettings("127.0.0.1:5090", false, TimeSpan.FromSeconds(30)), s.Connection);
    }

    [Theory]
    [InlineData("insert", "Insert")]
    [InlineData("update", "Update")]
    [InlineData("upsert", "Upsert")]
    public void Kv_put_mode_selects_the_write_semantics(string mode, string expected)
    {
        var cli = Cli();
        var result = cli.Parse("kv", "put", "k", "--mode", mode);
        Assert.Empty(result.Errors);
        Assert.Equal(expected, cli.Kv.Put.Bind(result).Mode.ToString());
    }

    [Fact]
    public void Kv_put_rejects_an_unknown_mode()
    {
        var result = Cli().Parse("kv", "put", "k", "v", "--mode", "replace");
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Kv_put_reads_file_option_and_leaves_value_absent()
    {
        var cli = Cli();
        var s = cli.Kv.Put.Bind(cli.Parse("kv", "put", "k", "--file", "/tmp/v.bin"));
        Assert.Null(s.Value);
        Assert.Equal("/tmp/v.bin", s.File);
    }

    [Fact]
    public void MEMO_NODE_replaces_the_default_node()
    {
        var cli = Cli(new FakeIo().WithEnvironment("MEMO_NODE", "10.0.0.7:7000"));
        var s = cli.Kv.Get.Bind(cli.Parse("kv", "get", "k"));
        Assert.Equal("10.0.0.7:7000", s.Connection.Node);
    }

    [Fact]
    public void Node_option_wins_over_MEMO_NODE()
    {
        var cli = Cli(new FakeIo().WithEnvironment("MEMO_NODE", "10.0.0.7:7000"));
        var s = cli.Kv.Get.Bind(cli.Parse("--node", "192.168.1.2:5090", "kv", "get", "k"));
        Assert.Equal("192.168.1.2:5090", s.Connection.Node);
    }

    [Fact]
    public void Empty_MEMO_NODE_is_ignored()
    {
        var cli = Cli(new FakeIo().WithEnvironment("MEMO_NODE", ""));
        Assert.Equal(GlobalOptions.DefaultNode, cli.Kv.Get.Bind(cli.Parse("kv", "get", "k")).Connection.Node);
    }

    [Fact]
    public void Global_options_are_accepted_after_the_subcommand()
    {
        var cli = Cli();
        var result = cli.Parse("kv", "get", "k", "--node", "h:1", "--json", "--timeout", "500ms", "--output", "out.bin");
        Assert.Empty(result.Errors);
        var s = cli.Kv.Get.Bind(result);
        Assert.Equal(new ConnectionSettings("h:1", true, TimeSpan.FromMilliseconds(500)), s.Connection);
        Assert.Equal("out.bin", s.OutputFile);
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("2s", 2000)]
    [InlineData("1.5s", 1500)]
    [InlineData("2m", 120_000)]
    [InlineData("7", 7000)]
    [InlineData("00:00:03", 3000)]
    public void Timeout_accepts_durations_with_units(string text, int milliseconds)
    {
        var cli = Cli();
        var result = cli.Parse("--timeout", text, "kv", "delete", "k");
        Assert.Empty(result.Errors);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), cli.Kv.Delete.Bind(result).Connection.Timeout);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-1s")]
    [InlineData("0")]
    [InlineData("10 parsecs")]
    public void Timeout_rejects_what_is_not_a_positive_duration(string text)
    {
        Assert.NotEmpty(Cli().Parse("--timeout", text, "kv", "delete", "k").Errors);
    }

    [Fact]
    public void Kv_get_requires_a_key()
    {
        Assert.NotEmpty(Cli().Parse("kv", "get").Errors);
        Assert.NotEmpty(Cli().Parse("kv", "get", "").Errors);
    }

    [Fact]
    public void Kv_list_defaults_to_one_page_of_1000_keys_from_the_start()
    {
        var cli = Cli();
        var s = cli.Kv.List.Bind(cli.Parse("kv", "list"));
        Assert.Equal(("", "", "", 1000UL, false), (s.Prefix, s.Marker, s.Delimiter, s.MaxKeys, s.All));
    }

    [Fact]
    public void Kv_list_takes_prefix_marker_delimiter_max_keys_and_all()
    {
        var cli = Cli();
        var result = cli.Parse("kv", "list", "--prefix", "users/", "--marker", "users/m", "--delimiter", "/", "--max-keys", "50", "--all");
        Assert.Empty(result.Errors);
        var s = cli.Kv.List.Bind(result);
        Assert.Equal(("users/", "users/m", "/", 50UL, true), (s.Prefix, s.Marker, s.Delimiter, s.MaxKeys, s.All));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("100001")]
    [InlineData("-5")]
    public void Kv_list_rejects_a_page_size_out_of_range(string maxKeys)
    {
        Assert.NotEmpty(Cli().Parse("kv", "list", "--max-keys", maxKeys).Errors);
    }

    [Fact]
    public void Block_commands_parse_an_address()
    {
        var cli = Cli();
        var get = cli.Block.Get.Bind(cli.Parse("block", "get", Address));
        Assert.Equal(BlockAddress.Parse(Address), get.Address);
        var delete = cli.Block.Delete.Bind(cli.Parse("block", "delete", Address));
        Assert.Equal(BlockAddress.Parse(Address), delete.Address);
        var update = cli.Block.Update.Bind(cli.Parse("block", "update", Address, "v2"));
        Assert.Equal((BlockAddress.Parse(Address), "v2", (string?)null), (update.Address, update.Data, update.File));
    }

    [Theory]
    [InlineData("0x1234")]
    [InlineData("not-an-address")]
    [InlineData("0xzz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")]
    public void Block_get_rejects_a_malformed_address(string address)
    {
        Assert.NotEmpty(Cli().Parse("block", "get", address).Errors);
    }

    [Fact]
    public void Block_put_commands_take_data_or_a_file()
    {
        var cli = Cli();
        var immutable = cli.Block.PutImmutable.Bind(cli.Parse("block", "put-immutable", "payload"));
        Assert.Equal(("payload", (string?)null), (immutable.Data, immutable.File));
        Assert.False(cli.Block.PutImmutable.Mutable);
        var mutable = cli.Block.PutMutable.Bind(cli.Parse("block", "put-mutable", "-f", "data.bin"));
        Assert.Equal(((string?)null, "data.bin"), (mutable.Data, mutable.File));
        Assert.True(cli.Block.PutMutable.Mutable);
    }

    [Fact]
    public void Bench_kv_defaults_match_the_documented_workload()
    {
        var cli = Cli();
        var result = cli.Parse("bench", "kv");
        Assert.Empty(result.Errors);
        var (s, connection) = cli.Bench.Kv.Bind(result);
        Assert.Equal(BenchTargetKind.Memo, s.Target);
        Assert.Equal("127.0.0.1:5090", s.Endpoint);
        Assert.Equal(BenchWorkload.Put, s.Workload);
        Assert.Equal(1, s.Concurrency);
        Assert.Equal(TimeSpan.FromSeconds(10), s.Duration);
        Assert.Equal(TimeSpan.FromSeconds(2), s.Warmup);
        Assert.Equal(256, s.ValueSize);
        Assert.Equal(10_000, s.Keys);
        Assert.Equal(0.5, s.ReadRatio);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Timeout);
        Assert.False(connection.Json);
    }

    [Fact]
    public void Bench_kv_takes_every_option()
    {
        var cli = Cli();
        var result = cli.Parse("bench", "kv", "--target", "etcd", "--node", "127.0.0.1:23790", "--workload", "mixed", "--read-ratio", "0.25",
            "--concurrency", "64", "--duration", "3s", "--warmup", "0", "--value-size", "1024", "--keys", "500", "--seed", "9", "--json");
        Assert.Empty(result.Errors);
        var (s, connection) = cli.Bench.Kv.Bind(result);
        Assert.Equal(new KvBenchSettings(BenchTargetKind.Etcd, "127.0.0.1:23790", BenchWorkload.Mixed, 64, TimeSpan.FromSeconds(3), TimeSpan.Zero,
            1024, 500, 0.25, TimeSpan.FromSeconds(30), 9), s);
        Assert.True(connection.Json);
        Assert.Equal("127.0.0.1:23790", connection.Node);
    }

    [Fact]
    public void Bench_kv_against_etcd_defaults_to_etcds_client_port_even_with_MEMO_NODE_set()
    {
        var cli = Cli(new FakeIo().WithEnvironment("MEMO_NODE", "10.0.0.7:7000"));
        var (s, connection) = cli.Bench.Kv.Bind(cli.Parse("bench", "kv", "--target", "etcd"));
        Assert.Equal("127.0.0.1:2379", s.Endpoint);
        Assert.Equal("127.0.0.1:2379", connection.Node);
    }

    [Theory]
    [InlineData("--concurrency", "0")]
    [InlineData("--concurrency", "5000")]
    [InlineData("--read-ratio", "1.5")]
    [InlineData("--read-ratio", "-0.1")]
    [InlineData("--read-ratio", "NaN")]
    [InlineData("--read-ratio", "half")]
    [InlineData("--keys", "0")]
    [InlineData("--value-size", "-1")]
    [InlineData("--duration", "0s")]
    [InlineData("--workload", "scan")]
    [InlineData("--target", "redis")]
    public void Bench_kv_rejects_out_of_range_options(string option, string value)
    {
        Assert.NotEmpty(Cli().Parse("bench", "kv", option, value).Errors);
    }

    [Theory]
    [InlineData("put")]
    [InlineData("get")]
    public void Bench_kv_refuses_a_read_ratio_for_a_workload_that_is_not_mixed(string workload)
    {
        var errors = Cli().Parse("bench", "kv", "--workload", workload, "--read-ratio", "0.3").Errors;
        Assert.Equal($"--read-ratio applies to --workload mixed only, not '{workload}'", Assert.Single(errors).Message);
        // Without the ratio the same workload parses; with mixed, any ratio from 0 to 1 does.
        Assert.Empty(Cli().Parse("bench", "kv", "--workload", workload).Errors);
        Assert.Empty(Cli().Parse("bench", "kv", "--workload", "mixed", "--read-ratio", "0").Errors);
        Assert.Empty(Cli().Parse("bench", "kv", "--workload", "mixed", "--read-ratio", "1").Errors);
    }

    [Fact]
    public void Cluster_commands_parse_and_down_needs_a_member()
    {
        Assert.Empty(Cli().Parse("cluster", "show").Errors);
        Assert.Empty(Cli().Parse("cluster", "leave").Errors);
        Assert.NotEmpty(Cli().Parse("cluster", "down").Errors);
    }

    [Fact]
    public void Cluster_commands_ask_the_local_remoting_endpoint_of_network_memo_by_default()
    {
        var cli = Cli();
        var result = cli.Parse("cluster", "show");

        Assert.Empty(result.Errors);
        Assert.Equal(new AdminSettings("127.0.0.1:5091", "memo", false, TimeSpan.FromSeconds(30)), cli.Cluster.Admin.Bind(result));
    }

    [Theory]
    [InlineData("cluster", "--remote", "10.0.0.7:6001", "--network", "prod", "shards", "--json")]
    [InlineData("--json", "cluster", "shards", "--remote", "10.0.0.7:6001", "--network", "prod")]
    public void Remote_and_network_are_taken_before_or_after_the_subcommand(params string[] args)
    {
        var cli = Cli();
        var result = cli.Parse(args);

        Assert.Empty(result.Errors);
        Assert.Equal(new AdminSettings("10.0.0.7:6001", "prod", true, TimeSpan.FromSeconds(30)), cli.Cluster.Admin.Bind(result));
    }

    [Fact]
    public void MEMO_REMOTE_and_MEMO_NETWORK_replace_the_defaults_and_the_options_win_over_them()
    {
        var io = new FakeIo().WithEnvironment("MEMO_REMOTE", "10.0.0.8:7001").WithEnvironment("MEMO_NETWORK", "staging");
        var cli = Cli(io);

        Assert.Equal(new AdminSettings("10.0.0.8:7001", "staging", false, TimeSpan.FromSeconds(30)), cli.Cluster.Admin.Bind(cli.Parse("cluster", "show")));
        Assert.Equal("127.0.0.1:9", cli.Cluster.Admin.Bind(cli.Parse("cluster", "show", "--remote", "127.0.0.1:9")).Remote);
    }

    [Theory]
    [InlineData("--remote", "127.0.0.1")]
    [InlineData("--remote", "127.0.0.1:0")]
    [InlineData("--remote", "::1:5091")]
    [InlineData("--network", "-memo")]
    [InlineData("--network", "me mo")]
    public void Cluster_commands_refuse_a_malformed_remote_or_network(string option, string value)
    {
        var errors = Cli().Parse("cluster", "show", option, value).Errors;

        Assert.Contains(errors, e => e.Message.StartsWith(option + ":", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--node", "127.0.0.1:5090", "cluster", "show")]
    [InlineData("cluster", "leave", "--node", "127.0.0.1:5090")]
    public void Cluster_commands_refuse_node_and_point_to_remote(params string[] args)
    {
        var errors = Cli().Parse(args).Errors;

        Assert.Contains(errors, e => e.Message.Contains("use --remote host:port", StringComparison.Ordinal));
    }

    [Fact]
    public void A_node_from_MEMO_NODE_does_not_stop_cluster_commands()
    {
        // Only --node written on the command line is refused: a MEMO_NODE set for the kv commands is not.
        var cli = Cli(new FakeIo().WithEnvironment("MEMO_NODE", "127.0.0.1:5090"));

        Assert.Empty(cli.Parse("cluster", "show").Errors);
    }

    [Fact]
    public async Task A_parse_error_exits_1_with_one_error_line_on_stderr()
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["kv", "get"]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("error: required argument missing", io.Err.ToString());
        Assert.Equal("", io.Out.ToString());
    }

    [Fact]
    public async Task A_parse_error_with_json_is_a_json_object_on_stderr()
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["--json", "kv", "list", "--max-keys", "0"]);
        Assert.Equal(ExitCodes.Usage, code);
        using var doc = System.Text.Json.JsonDocument.Parse(io.Err.ToString());
        Assert.Equal(1, doc.RootElement.GetProperty("error").GetProperty("exitCode").GetInt32());
        Assert.Contains("--max-keys", doc.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Help_documents_the_exit_codes()
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["--help"]);
        Assert.Equal(ExitCodes.Ok, code);
        var help = io.Out.ToString();
        Assert.Contains("Exit codes:", help);
        Assert.Contains("2   node not reachable", help);
        Assert.Contains("10  other error", help);
    }

    [Fact]
    public async Task Value_given_both_inline_and_by_file_is_a_usage_error_before_any_call()
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["kv", "put", "k", "v", "--file", "x.bin", "--node", "127.0.0.1:1"]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("error: give the value either as an argument or with --file, not both" + Environment.NewLine, io.Err.ToString());
    }

    [Fact]
    public async Task Updating_an_immutable_address_is_refused_before_any_call()
    {
        var io = new FakeIo();
        var immutable = "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        var code = await new MemoCli(io.Io).RunAsync(["block", "update", immutable, "v2", "--node", "127.0.0.1:1"]);
        Assert.Equal(ExitCodes.Rejected, code);
        Assert.Contains("is immutable", io.Err.ToString());
    }
}
