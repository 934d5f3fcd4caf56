using System.Text;
using System.Text.Json;
using Memo.Cli;
using Memo.Testing;

namespace Memo.Node.Tests.Cli;

/// <summary>
/// <c>memo kv get --version</c> and <c>memo kv versions</c> against a real in-process node that keeps 3 versions per key
/// (<c>memo.network.versions</c>), through the CLI's real client.
/// </summary>
public sealed class CliVersionsTests : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(["memo.network.versions = 3"]);

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<(int Code, FakeIo Io)> RunAsync(params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--node", _node.Address, "--timeout", "30s"]);
        return (code, io);
    }

    private async Task PutVersionsAsync(string key, int count)
    {
        for (var v = 1; v <= count; v++)
        {
            Assert.Equal(ExitCodes.Ok, (await RunAsync("kv", "put", key, $"value {v}")).Code);
        }
    }

    [Fact]
    public async Task Get_with_a_version_prints_that_versions_bytes_and_a_pruned_one_exits_3_naming_the_kept_ones()
    {
        await PutVersionsAsync("doc", 5);

        var (code, io) = await RunAsync("kv", "get", "doc", "--version", "4");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("value 4", io.StdoutText);

        var (json, jsonIo) = await RunAsync("--json", "kv", "get", "doc", "--version", "3");
        Assert.Equal(ExitCodes.Ok, json);
        using (var doc = JsonDocument.Parse(jsonIo.Out.ToString()))
        {
            Assert.Equal(3UL, doc.RootElement.GetProperty("version").GetUInt64());
            Assert.Equal("value 3", Encoding.UTF8.GetString(doc.RootElement.GetProperty("value").GetBytesFromBase64()));
        }

        var (pruned, prunedIo) = await RunAsync("kv", "get", "doc", "--version", "2");
        Assert.Equal(ExitCodes.NotFound, pruned);
        Assert.Equal("error: Version 2 of key 'doc' is not kept; the kept versions are 5, 4, 3." + Environment.NewLine, prunedIo.Err.ToString());
        Assert.Equal(0, prunedIo.Stdout.Length);

        var (missingKey, missingIo) = await RunAsync("kv", "get", "ghost", "--version", "1");
        Assert.Equal(ExitCodes.NotFound, missingKey);
        Assert.Contains("ghost", missingIo.Err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Versions_lists_the_kept_versions_newest_first_as_text_and_json()
    {
        await PutVersionsAsync("doc", 4);

        var (code, io) = await RunAsync("kv", "versions", "doc");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(string.Join(Environment.NewLine, "4 (current)", "3", "2") + Environment.NewLine, io.Out.ToString());

        var (json, jsonIo) = await RunAsync("--json", "kv", "versions", "doc");
        Assert.Equal(ExitCodes.Ok, json);
        using var doc = JsonDocument.Parse(jsonIo.Out.ToString());
        Assert.Equal("doc", doc.RootElement.GetProperty("key").GetString());
        Assert.Equal(4UL, doc.RootElement.GetProperty("current").GetUInt64());
        Assert.Equal([4UL, 3UL, 2UL], doc.RootElement.GetProperty("versions").EnumerateArray().Select(e => e.GetUInt64()));

        var (missing, missingIo) = await RunAsync("--json", "kv", "versions", "ghost");
        Assert.Equal(ExitCodes.NotFound, missing);
        using var error = JsonDocument.Parse(missingIo.Err.ToString());
        Assert.Equal(3, error.RootElement.GetProperty("error").GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task Version_zero_is_a_usage_error()
    {
        var (code, io) = await RunAsync("kv", "get", "doc", "--version", "0");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--version counts the key's writes from 1", io.Err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Block_get_with_a_version_and_block_versions_read_the_kept_versions_of_a_mutable_block()
    {
        var (put, putIo) = await RunAsync("--json", "block", "put-mutable", "version 0");
        Assert.Equal(ExitCodes.Ok, put);
        string address;
        using (var doc = JsonDocument.Parse(putIo.Out.ToString()))
        {
            address = doc.RootElement.GetProperty("address").GetString()!;
        }
        for (var v = 1; v <= 4; v++)
        {
            Assert.Equal(ExitCodes.Ok, (await RunAsync("block", "update", address, $"version {v}")).Code);
        }

        var (listed, listedIo) = await RunAsync("block", "versions", address);
        Assert.Equal(ExitCodes.Ok, listed);
        Assert.Equal(string.Join(Environment.NewLine, "4 (current)", "3", "2") + Environment.NewLine, listedIo.Out.ToString());
        var (json, jsonIo) = await RunAsync("--json", "block", "versions", address);
        Assert.Equal(ExitCodes.Ok, json);
        using (var doc = JsonDocument.Parse(jsonIo.Out.ToString()))
        {
            Assert.Equal([4L, 3L, 2L], doc.RootElement.GetProperty("versions").EnumerateArray().Select(e => e.GetInt64()));
        }

        var (old, oldIo) = await RunAsync("block", "get", address, "--version", "2");
        Assert.Equal((ExitCodes.Ok, "version 2"), (old, oldIo.StdoutText));
        var (current, currentIo) = await RunAsync("block", "get", address);
        Assert.Equal((ExitCodes.Ok, "version 4"), (current, currentIo.StdoutText));
        var (pruned, prunedIo) = await RunAsync("block", "get", address, "--version", "1");
        Assert.Equal(ExitCodes.NotFound, pruned);
        Assert.Contains("version 1 of block", prunedIo.Err.ToString(), StringComparison.Ordinal);
        Assert.Contains("the kept versions are 4, 3, 2", prunedIo.Err.ToString(), StringComparison.Ordinal);
        var ghost = "0x" + new string('a', 62) + "00";
        Assert.Equal(ExitCodes.NotFound, (await RunAsync("block", "versions", ghost)).Code);
        Assert.Equal(ExitCodes.NotFound, (await RunAsync("block", "get", ghost, "--version", "1")).Code);
        Assert.Equal(ExitCodes.Usage, (await RunAsync("block", "get", address, "--version", "-1")).Code);
    }
}
