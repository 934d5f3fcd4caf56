using System.Diagnostics;
using Memo.Cli;
using Memo.Node.Tests.Cli;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.Security;
using Memo.Testing;

namespace Memo.Node.Tests.Security;

/// <summary>
/// TLS 1.3 on the public gRPC port of a real node process: a client with the network CA file works, a cleartext
/// client and a client trusting another CA are refused and change nothing; a node listening on a non-loopback address
/// without TLS refuses to start unless <c>--insecure</c>, which it then warns about.
/// </summary>
public sealed class ApiTlsProcessTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-api-tls-" + Guid.NewGuid().ToString("n"));

    [Fact]
    public async Task The_API_serves_TLS_to_clients_with_the_CA_and_refuses_cleartext_and_other_CAs()
    {
        var ca = Path.Combine(_root, "ca");
        var data = Path.Combine(_root, "node");
        await CliAsync("network", "create", "--dir", ca);
        await CliAsync("node", "certify", "--ca-dir", ca, "--data", data);
        var caFile = Path.Combine(ca, NetworkAuthority.CertificateFile);
        var otherCa = Path.Combine(_root, "other-ca");
        await CliAsync("network", "create", "--dir", otherCa);

        await using var node = await NodeProcess.StartAsync(data,
        [
            "--shards", "4",
            "--set", $"memo.api.tls.certificate=\"{Path.Combine(data, "node.crt")}\"",
            "--set", $"memo.api.tls.key=\"{Path.Combine(data, "node.key")}\"",
        ]);
        Assert.Contains("TLS h2", node.Output, StringComparison.Ordinal);

        using (var secure = new MemoClient(node.Address, new MemoClientOptions { CaCertificateFile = caFile, Timeout = TimeSpan.FromSeconds(30) }))
        {
            await WaitServingAsync(secure);
            await secure.UpsertAsync("k", "v1"u8.ToArray());
            Assert.Equal("v1"u8.ToArray(), await secure.FetchAsync("k"));
        }

        // Cleartext HTTP/2 against the TLS port: no gRPC exchange at all (Grpc.Net.Client reports the failed HTTP/2
        // handshake as INTERNAL).
        using (var plain = new MemoClient(node.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(10) }))
        {
            var refused = await Assert.ThrowsAsync<GrpcException>(() => plain.UpsertAsync("k", "forged"u8.ToArray()));
            Assert.Contains("HTTP/2", refused.Message, StringComparison.Ordinal);
        }
        // TLS with a CA that did not issue the node's certificate: the client refuses the node.
        using (var misled = new MemoClient(node.Address, new MemoClientOptions { CaCertificateFile = Path.Combine(otherCa, NetworkAuthority.CertificateFile), Timeout = TimeSpan.FromSeconds(10) }))
        {
            var refused = await Assert.ThrowsAsync<GrpcException>(() => misled.UpsertAsync("k", "forged"u8.ToArray()));
            Assert.True(refused.Status is GrpcStatusCode.Unavailable or GrpcStatusCode.Internal, refused.ToString());
            Assert.Contains("SSL", refused.ToString(), StringComparison.Ordinal);
        }
        using (var secure = new MemoClient(node.Address, new MemoClientOptions { CaCertificateFile = caFile }))
        {
            Assert.Equal("v1"u8.ToArray(), await secure.FetchAsync("k"));
        }
        // The CLI takes the CA file as --ca.
        var (code, io) = await RunAsync("kv", "get", "k", "--node", node.Address, "--ca", caFile);
        Assert.True(code == ExitCodes.Ok, io.Err.ToString());
        Assert.Equal("v1", System.Text.Encoding.UTF8.GetString(io.Stdout.ToArray()));
        var (plainCode, plainIo) = await RunAsync("kv", "get", "k", "--node", node.Address, "--timeout", "10s");
        Assert.NotEqual(ExitCodes.Ok, plainCode);
        Assert.Equal(1, plainIo.Err.ToString().Count(c => c == '\n'));
    }

    [Fact]
    public async Task A_node_on_a_non_loopback_address_without_TLS_refuses_to_start_unless_insecure()
    {
        var (exitCode, output) = await RunNodeAsync(["--listen", "0.0.0.0:0", "--data", Path.Combine(_root, "refused")], TimeSpan.FromSeconds(60));

        Assert.Equal(Program.UsageExitCode, exitCode);
        Assert.Contains("memo.node.listen = \"0.0.0.0:0\": is not a loopback address, so the API needs TLS", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_root, "refused")), "the refused node created its data folder");

        var data = Path.Combine(_root, "insecure");
        var start = NodeStart(["--listen", "0.0.0.0:0", "--remote", "127.0.0.1:0", "--data", data, "--insecure", "--set", "memo.node.advertise=\"127.0.0.1:1\""]);
        using var process = System.Diagnostics.Process.Start(start)!;
        var lines = new List<string>();
        var warned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (lines)
            {
                lines.Add(line);
            }
            if (line.Contains("serves cleartext on a non-loopback address (--insecure)", StringComparison.Ordinal))
            {
                warned.TrySetResult();
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await warned.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            lock (lines)
            {
                Assert.Fail("no insecure warning within 60 s:\n" + string.Join('\n', lines));
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static ProcessStartInfo NodeStart(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(NodeProcess.NodeAssembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["MEMO_LOG_FORMAT"] = "";
        return start;
    }

    private static async Task<(int ExitCode, string Output)> RunNodeAsync(IEnumerable<string> arguments, TimeSpan timeout)
    {
        using var process = System.Diagnostics.Process.Start(NodeStart(arguments))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(timeout);
        return (process.ExitCode, await stdout + await stderr);
    }

    // The node reports NOT_SERVING until it formed its one-node cluster; a put before that is refused, so poll.
    private static async Task WaitServingAsync(MemoClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await client.UpsertAsync("ready", new byte[] { 1 });
                return;
            }
            catch (GrpcException) when (DateTime.UtcNow < deadline)
            {
                // Polling pause, not synchronisation: the put is retried.
                await Task.Delay(200);
            }
        }
    }

    private static async Task<(int Code, FakeIo Io)> RunAsync(params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(args);
        return (code, io);
    }

    private static async Task CliAsync(params string[] args)
    {
        var (code, io) = await RunAsync(args);
        Assert.True(code == ExitCodes.Ok, $"memo {string.Join(' ', args)} exited {code}: {io.Err}");
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
