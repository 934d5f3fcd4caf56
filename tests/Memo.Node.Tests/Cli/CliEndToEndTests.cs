using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Memo.Cli;
using Memo.Protocol.Blocks;

namespace Memo.Node.Tests.Cli;

/// <summary>The CLI against <see cref="FakeMemoNode"/>, through the real gRPC client and server.</summary>
public class CliEndToEndTests : IAsyncLifetime
{
    private FakeMemoNode _node = null!;

    public async Task InitializeAsync() => _node = await FakeMemoNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<(int Code, FakeIo Io)> RunAsync(byte[]? stdin, params string[] args)
    {
        var io = new FakeIo(stdin);
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--node", _node.Target, "--timeout", "10s"]);
        return (code, io);
    }

    private Task<(int Code, FakeIo Io)> RunAsync(params string[] args) => RunAsync(null, args);

    [Fact]
    public async Task A_value_put_from_stdin_comes_back_byte_for_byte_on_stdout()
    {
        byte[] value = [0, 1, 2, 0xff, 0xfe, (byte)'\n', 0x80];
        var (put, _) = await RunAsync(value, "kv", "put", "bin");
        Assert.Equal(ExitCodes.Ok, put);
        Assert.Equal(value, _node.Value("bin"));

        var (get, io) = await RunAsync("kv", "get", "bin");
        Assert.Equal(ExitCodes.Ok, get);
        Assert.Equal(value, io.Stdout.ToArray());
        Assert.Equal("", io.Out.ToString());
        Assert.Equal("", io.Err.ToString());
    }

    [Fact]
    public async Task Put_modes_report_existing_and_missing_keys_with_their_exit_codes()
    {
        Assert.Equal(ExitCodes.Ok, (await RunAsync("kv", "put", "k", "v1", "--mode", "insert")).Code);
        var (insertAgain, io) = await RunAsync("kv", "put", "k", "v2", "--mode", "insert");
        Assert.Equal(ExitCodes.Conflict, insertAgain);
        Assert.Equal("error: key 'k' already exists" + Environment.NewLine, io.Err.ToString());
        Assert.Equal("v1", Encoding.UTF8.GetString(_node.Value("k")!));

        var (updateMissing, io2) = await RunAsync("kv", "put", "nope", "v", "--mode", "update");
        Assert.Equal(ExitCodes.NotFound, updateMissing);
        Assert.Equal("error: key 'nope' not found" + Environment.NewLine, io2.Err.ToString());

        Assert.Equal(ExitCodes.Ok, (await RunAsync("kv", "put", "k", "v3", "--mode", "update")).Code);
        Assert.Equal("v3", Encoding.UTF8.GetString(_node.Value("k")!));
    }

    [Fact]
    public async Task Get_and_delete_of_a_missing_key_exit_3()
    {
        var (get, io) = await RunAsync("--json", "kv", "get", "ghost");
        Assert.Equal(ExitCodes.NotFound, get);
        using var error = JsonDocument.Parse(io.Err.ToString());
        Assert.Equal(3, error.RootElement.GetProperty("error").GetProperty("exitCode").GetInt32());

        await RunAsync("kv", "put", "gone", "x");
        Assert.Equal(ExitCodes.Ok, (await RunAsync("kv", "delete", "gone")).Code);
        Assert.Equal(ExitCodes.NotFound, (await RunAsync("kv", "delete", "gone")).Code);
        Assert.Equal(ExitCodes.NotFound, (await RunAsync("kv", "get", "gone")).Code);
    }

    [Fact]
    public async Task Get_with_json_returns_the_value_in_base64()
    {
        await RunAsync("kv", "put", "j", "hello");
        var (code, io) = await RunAsync("--json", "kv", "get", "j");
        Assert.Equal(ExitCodes.Ok, code);
        using var doc = JsonDocument.Parse(io.Out.ToString());
        Assert.Equal("aGVsbG8=", doc.RootElement.GetProperty("value").GetString());
        Assert.Equal(5, doc.RootElement.GetProperty("bytes").GetInt32());
    }

    [Fact]
    public async Task List_all_pages_through_keys_and_rolled_up_prefixes()
    {
        foreach (var key in new[] { "a", "b/1", "b/2", "c", "d/1", "e" })
        {
            await RunAsync("kv", "put", key, "v");
        }
        var (code, io) = await RunAsync("--json", "kv", "list", "--delimiter", "/", "--max-keys", "2", "--all");
        Assert.Equal(ExitCodes.Ok, code);
        using var doc = JsonDocument.Parse(io.Out.ToString());
        Assert.Equal(["a", "c", "e"], doc.RootElement.GetProperty("keys").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["b/", "d/"], doc.RootElement.GetProperty("prefixes").EnumerateArray().Select(e => e.GetString()));
        Assert.False(doc.RootElement.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task List_shows_a_table_and_says_when_it_is_truncated()
    {
        foreach (var key in new[] { "k1", "k2", "k3" })
        {
            await RunAsync("kv", "put", key, "v");
        }
        var (code, io) = await RunAsync("kv", "list", "--max-keys", "2");
        Assert.Equal(ExitCodes.Ok, code);
        var text = io.Out.ToString();
        Assert.Contains("k1", text);
        Assert.Contains("k2", text);
        Assert.DoesNotContain("k3", text);
        Assert.Contains("2 keys", text);
        Assert.Contains("truncated: more after k2 (continue with --marker k2, or use --all)", text);
    }

    [Fact]
    public async Task An_immutable_block_put_prints_its_address_and_get_returns_its_data()
    {
        var (put, io) = await RunAsync("block", "put-immutable", "content");
        Assert.Equal(ExitCodes.Ok, put);
        var address = BlockAddress.Parse(io.Out.ToString().Trim());
        Assert.True(address.IsImmutable);

        var (get, io2) = await RunAsync("block", "get", address.ToString());
        Assert.Equal(ExitCodes.Ok, get);
        Assert.Equal("content", Encoding.UTF8.GetString(io2.Stdout.ToArray()));

        var (json, io3) = await RunAsync("--json", "block", "get", address.ToString());
        Assert.Equal(ExitCodes.Ok, json);
        using var doc = JsonDocument.Parse(io3.Out.ToString());
        Assert.Equal("CHB", doc.RootElement.GetProperty("type").GetString());
        Assert.Equal(address.ToString(), doc.RootElement.GetProperty("address").GetString());
        Assert.Equal(Convert.ToBase64String("content"u8), doc.RootElement.GetProperty("data").GetString());
    }

    [Fact]
    public async Task A_mutable_block_update_stores_the_next_version_signed_by_the_node()
    {
        var (_, io) = await RunAsync("block", "put-mutable", "v0");
        var address = BlockAddress.Parse(io.Out.ToString().Trim());
        Assert.False(address.IsImmutable);

        var (update, io2) = await RunAsync("block", "update", address.ToString(), "v1");
        Assert.Equal(ExitCodes.Ok, update);
        Assert.Equal($"updated {address} to version 1" + Environment.NewLine, io2.Out.ToString());
        var stored = _node.StoredBlock(address)!;
        Assert.Equal(1, stored.Version);
        Assert.Equal("v1", stored.Data.ToStringUtf8());
        Assert.True(BlockValidator.ValidateAt(stored, address).IsValid);
    }

    [Fact]
    public async Task A_lost_version_race_exits_4_and_names_the_stored_version()
    {
        var (_, io) = await RunAsync("block", "put-mutable", "v0");
        var address = BlockAddress.Parse(io.Out.ToString().Trim());
        // Another writer stores version 1 between the CLI's fetch (version 0) and its update (version 1).
        _node.BeforeBlockUpdate = _ => _node.BumpVersion(address);

        var (update, io2) = await RunAsync("block", "update", address.ToString(), "mine");
        Assert.Equal(ExitCodes.Conflict, update);
        Assert.Equal($"error: block {address} changed meanwhile: the stored version is 1, this update was version 1" + Environment.NewLine, io2.Err.ToString());
        Assert.Equal("concurrent", _node.StoredBlock(address)!.Data.ToStringUtf8());
    }

    [Fact]
    public async Task Block_delete_removes_it_and_a_second_delete_exits_3()
    {
        var (_, io) = await RunAsync("block", "put-immutable", "bye");
        var address = io.Out.ToString().Trim();
        Assert.Equal(ExitCodes.Ok, (await RunAsync("block", "delete", address)).Code);
        Assert.Equal(ExitCodes.NotFound, (await RunAsync("block", "delete", address)).Code);
        Assert.Equal(ExitCodes.NotFound, (await RunAsync("block", "get", address)).Code);
    }

    [Fact]
    public async Task A_call_outliving_the_timeout_exits_6()
    {
        _node.FetchHangs = true;
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["kv", "get", "k", "--node", _node.Target, "--timeout", "200ms"]);
        Assert.Equal(ExitCodes.Timeout, code);
        Assert.Equal($"error: node {_node.Target} did not answer within 200ms" + Environment.NewLine, io.Err.ToString());
    }

    [Fact]
    public async Task A_node_that_is_not_listening_exits_2_with_one_line()
    {
        // A port that was just free: bind it, note it, release it.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["kv", "get", "k", "--node", $"127.0.0.1:{port}"]);
        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.Equal($"error: node 127.0.0.1:{port} is not reachable: connection refused" + Environment.NewLine, io.Err.ToString());
    }

    [Fact]
    public async Task Cluster_show_against_a_remoting_port_nobody_listens_on_exits_2_with_one_line()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["cluster", "show", "--remote", $"127.0.0.1:{port}"]);

        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.Equal($"error: node 127.0.0.1:{port} is not reachable over Akka remoting: connection refused tcp://memo@127.0.0.1:{port}" + Environment.NewLine,
            io.Err.ToString());
        Assert.Equal("", io.Out.ToString());
    }

    [Fact]
    public async Task Bench_kv_against_a_node_that_is_not_listening_exits_2_with_one_line()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(["bench", "kv", "--node", $"127.0.0.1:{port}", "--duration", "200ms", "--warmup", "0"]);
        Assert.Equal(ExitCodes.Unreachable, code);
        Assert.Equal($"error: node 127.0.0.1:{port} is not reachable: connection refused" + Environment.NewLine, io.Err.ToString());
    }

    [Fact]
    public async Task Bench_kv_runs_a_mixed_load_against_the_node_and_reports_json()
    {
        var (code, io) = await RunAsync("bench", "kv", "--workload", "mixed", "--keys", "100", "--concurrency", "4", "--duration", "200ms", "--warmup", "0", "--json");
        Assert.Equal(ExitCodes.Ok, code);
        using var doc = JsonDocument.Parse(io.Out.ToString());
        var root = doc.RootElement;
        Assert.Equal("memo", root.GetProperty("target").GetString());
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        Assert.Equal(root.GetProperty("ops").GetInt64(), root.GetProperty("reads").GetInt64() + root.GetProperty("writes").GetInt64());
        Assert.Equal("mixed", root.GetProperty("workload").GetString());
        Assert.Equal(0.5, root.GetProperty("readRatio").GetDouble());
        // Every key of the space was written before the run.
        Assert.All(Enumerable.Range(0, 100), i => Assert.NotNull(_node.Value($"bench/{i:D8}")));
    }

    [Fact]
    public async Task Bench_kv_sends_the_consistency_levels_it_is_given_and_refuses_them_for_etcd()
    {
        var (code, io) = await RunAsync("bench", "kv", "--workload", "mixed", "--keys", "50", "--concurrency", "2", "--duration", "200ms", "--warmup", "0",
            "--write-consistency", "async", "--read-consistency", "stale", "--json");
        Assert.True(code == ExitCodes.Ok, io.Err.ToString());
        using (var doc = JsonDocument.Parse(io.Out.ToString()))
        {
            var root = doc.RootElement;
            Assert.Equal("async", root.GetProperty("writeConsistency").GetString());
            Assert.Equal("stale", root.GetProperty("readConsistency").GetString());
            // A header the node did not take would have failed every call (INVALID_ARGUMENT).
            Assert.Equal(0, root.GetProperty("errors").GetInt64());
            Assert.True(root.GetProperty("writes").GetInt64() > 0 && root.GetProperty("reads").GetInt64() > 0);
        }

        var (badCode, bad) = await RunAsync("bench", "kv", "--write-consistency", "eventual", "--duration", "200ms");
        Assert.Equal(ExitCodes.Usage, badCode);
        Assert.Contains("eventual", bad.Err.ToString(), StringComparison.Ordinal);
        var (etcdCode, etcd) = await RunAsync("bench", "kv", "--target", "etcd", "--read-consistency", "stale", "--duration", "200ms");
        Assert.Equal(ExitCodes.Usage, etcdCode);
        Assert.Contains("--target memo only", etcd.Err.ToString(), StringComparison.Ordinal);
    }
}
