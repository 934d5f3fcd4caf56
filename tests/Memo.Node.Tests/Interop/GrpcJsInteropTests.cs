using System.Diagnostics;
using System.Text.RegularExpressions;
using Memo.Testing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Interop;

/// <summary>
/// Runs tests/interop/interop.js (Node's @grpc/grpc-js, a gRPC implementation this project does not own)
/// against an in-process node. A missing Node.js or npm install fails the test on purpose: a silent skip
/// would let a wire-level regression through CI unnoticed.
/// </summary>
// The script makes async writes (kvs.consistency.*): serial with the tests that count the process-wide async-write metrics.
[Collection(Memo.Node.Tests.ShardGroups.AsyncWriteCollection.Name)]
public sealed partial class GrpcJsInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(3);

    // The node keeps this many versions of each key, so the script's versioning checks (Fetch with a version,
    // ListVersions, pruned versions NOT_FOUND) see more than the current value.
    private const int Versions = 3;

    [Fact]
    public async Task Grpc_js_client_gets_the_expected_answers_and_status_codes_from_a_node()
    {
        var root = TestPaths.RepositoryRoot; // also when MEMO_ARTIFACTS moves the build output
        var interopDirectory = Path.Combine(root, "tests", "interop");
        var script = Path.Combine(interopDirectory, "interop.js");
        Assert.True(File.Exists(script), $"{script} is missing.");
        var nodeExecutable = FindOnPath(OperatingSystem.IsWindows() ? "node.exe" : "node");
        Assert.True(nodeExecutable is not null,
            "Node.js ('node') is not on PATH. Install Node.js 18 or later, then run `npm install` in tests/interop (CI does both).");
        Assert.True(Directory.Exists(Path.Combine(interopDirectory, "node_modules", "@grpc", "grpc-js"))
                && Directory.Exists(Path.Combine(interopDirectory, "node_modules", "@grpc", "proto-loader")),
            $"@grpc/grpc-js is not installed: run `npm install` in {interopDirectory} (scripts/test.sh and CI do).");

        using var loggerFactory = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(LogLevel.Warning)
            .AddProvider(new TestOutputLoggerProvider(output)));
        await using var node = await TestNode.StartAsync([$"memo.network.versions = {Versions}"], loggerFactory: loggerFactory);
        output.WriteLine($"node listening on {node.Address}, data in {node.DataDirectory}");

        await RunAndCheckAsync(nodeExecutable!, script, node.Address, null, interopDirectory);
    }

    [Fact]
    public async Task Grpc_js_client_gets_the_same_answers_over_TLS_trusting_the_network_CA_file()
    {
        var root = TestPaths.RepositoryRoot;
        var interopDirectory = Path.Combine(root, "tests", "interop");
        var script = Path.Combine(interopDirectory, "interop.js");
        var nodeExecutable = FindOnPath(OperatingSystem.IsWindows() ? "node.exe" : "node");
        Assert.True(nodeExecutable is not null && Directory.Exists(Path.Combine(interopDirectory, "node_modules", "@grpc", "grpc-js")),
            "Node.js and @grpc/grpc-js are needed: install Node.js 18 or later, then run `npm install` in tests/interop.");

        var certificates = Path.Combine(Path.GetTempPath(), "memo-interop-tls-" + Guid.NewGuid().ToString("n"));
        try
        {
            using (var authority = Memo.Protocol.Security.NetworkAuthority.Create("memo", TimeSpan.FromDays(1)))
            using (var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
            {
                authority.Save(certificates);
                using var certificate = authority.IssueNode(key, 1, ["127.0.0.1", "localhost"], TimeSpan.FromDays(1));
                Memo.Protocol.Security.PemFiles.WriteCertificate(Path.Combine(certificates, "api.crt"), certificate);
                Memo.Protocol.Security.PemFiles.WriteKey(Path.Combine(certificates, "api.key"), key);
            }
            using var loggerFactory = LoggerFactory.Create(builder => builder
                .SetMinimumLevel(LogLevel.Warning)
                .AddProvider(new TestOutputLoggerProvider(output)));
            await using var node = await TestNode.StartAsync(
                [$"memo.api.tls.certificate = \"{Path.Combine(certificates, "api.crt")}\"", $"memo.api.tls.key = \"{Path.Combine(certificates, "api.key")}\"",
                    $"memo.network.versions = {Versions}"],
                loggerFactory: loggerFactory);
            output.WriteLine($"node listening with TLS on {node.Address}, data in {node.DataDirectory}");

            await RunAndCheckAsync(nodeExecutable!, script, node.Address, Path.Combine(certificates, "ca.crt"), interopDirectory);
        }
        finally
        {
            Directory.Delete(certificates, recursive: true);
        }
    }

    [Fact]
    public async Task Grpc_js_client_signing_with_nodes_crypto_is_admitted_and_its_forged_or_replayed_calls_refused()
    {
        var root = TestPaths.RepositoryRoot;
        var interopDirectory = Path.Combine(root, "tests", "interop");
        var script = Path.Combine(interopDirectory, "signed.js");
        var nodeExecutable = FindOnPath(OperatingSystem.IsWindows() ? "node.exe" : "node");
        Assert.True(nodeExecutable is not null && Directory.Exists(Path.Combine(interopDirectory, "node_modules", "@grpc", "grpc-js")),
            "Node.js and @grpc/grpc-js are needed: install Node.js 18 or later, then run `npm install` in tests/interop.");

        var files = Path.Combine(Path.GetTempPath(), "memo-interop-signed-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(files);
        try
        {
            using var owner = Memo.Protocol.Blocks.MemoKeyPair.Generate();
            using var alice = Memo.Protocol.Blocks.MemoKeyPair.Generate();
            var ownerFile = Path.Combine(files, "owner.pub");
            await File.WriteAllTextAsync(ownerFile, Memo.Protocol.Users.MemoUser.PublicKeyToPem(owner.PublicKey));
            var passport = Memo.Protocol.Users.PassportIssuer.Issue(owner, alice.PublicKey, "alice", "memo",
                [new Memo.Protocol.Users.PassportGrantRule(Memo.Protocol.Users.PassportRights.Read | Memo.Protocol.Users.PassportRights.Write, "")],
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await File.WriteAllBytesAsync(Path.Combine(files, "alice.passport"), Google.Protobuf.MessageExtensions.ToByteArray(passport));
            await File.WriteAllTextAsync(Path.Combine(files, "alice.key"), new string(System.Security.Cryptography.PemEncoding.Write("PRIVATE KEY", alice.ExportPkcs8())));
            using var loggerFactory = LoggerFactory.Create(builder => builder
                .SetMinimumLevel(LogLevel.Warning)
                .AddProvider(new TestOutputLoggerProvider(output)));
            // A node of a network with an owner stores data only with a storage passport for its key.
            var data = Path.Combine(files, "data");
            StoragePassportFiles.Issue(data, owner, "memo");
            await using var node = await TestNode.StartAsync([$"memo.network.owner = \"{ownerFile}\""], dataDirectory: data, loggerFactory: loggerFactory);
            var (exitCode, lines) = await RunScriptAsync(nodeExecutable!, script, node.Address, null, interopDirectory,
                [Path.Combine(files, "alice.key"), Path.Combine(files, "alice.passport")]);
            Check(exitCode, lines);
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    private async Task RunAndCheckAsync(string nodeExecutable, string script, string address, string? caFile, string interopDirectory)
    {
        var (exitCode, lines) = await RunScriptAsync(nodeExecutable, script, address, caFile, interopDirectory);
        Check(exitCode, lines);
    }

    private static void Check(int exitCode, List<string> lines)
    {
        var failures = lines.Where(l => l.StartsWith("FAIL ", StringComparison.Ordinal)).ToList();
        var summary = lines.Select(l => SummaryLine().Match(l)).LastOrDefault(m => m.Success);
        Assert.True(summary is not null,
            $"interop.js printed no summary line (exit code {exitCode}); its output:\n{string.Join('\n', lines)}");
        Assert.True(summary.Groups["failed"].Value == "0" && failures.Count == 0,
            $"interop.js: {summary.Value}\n{string.Join('\n', failures)}");
        Assert.True(int.Parse(summary.Groups["passed"].Value, System.Globalization.CultureInfo.InvariantCulture) > 0,
            "interop.js ran no checks.");
        Assert.Equal(0, exitCode);
    }

    private async Task<(int ExitCode, List<string> Lines)> RunScriptAsync(string nodeExecutable, string script, string address, string? caFile, string workingDirectory,
        IReadOnlyList<string>? moreArguments = null)
    {
        var start = new ProcessStartInfo(nodeExecutable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        start.Environment["MEMO_INTEROP_VERSIONS"] = Versions.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.ArgumentList.Add(address);
        if (caFile is not null)
        {
            start.ArgumentList.Add(caFile);
        }
        foreach (var argument in moreArguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        var lines = new List<string>();
        void OnLine(string? line, string stream)
        {
            if (line is null)
            {
                return;
            }
            lock (lines)
            {
                lines.Add(line);
            }
            output.WriteLine(stream + line);
        }

        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"{nodeExecutable} did not start.");
        process.OutputDataReceived += (_, e) => OnLine(e.Data, "");
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, "stderr: ");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(ScriptTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            lock (lines)
            {
                Assert.Fail($"interop.js did not finish within {ScriptTimeout}; its output so far:\n{string.Join('\n', lines)}");
            }
        }
        // The parameterless wait returns only after the asynchronous output handlers have seen end of stream.
        process.WaitForExit();
        lock (lines)
        {
            return (process.ExitCode, [.. lines]);
        }
    }

    private static string? FindOnPath(string executable)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, executable);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    [GeneratedRegex(@"^interop: (?<passed>\d+) passed, (?<failed>\d+) failed$")]
    private static partial Regex SummaryLine();
}
