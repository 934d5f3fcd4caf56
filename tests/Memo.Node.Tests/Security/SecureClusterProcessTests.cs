using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;
using Memo.Cli;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Tests.Cli;
using Memo.Protocol.Security;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Security;

/// <summary>
/// Mutual TLS on Akka remoting (and TLS on the API) against real node processes, attacked on the wire: three nodes
/// with certificates from one network CA form a cluster and serve through every node; a fourth process with a certificate from a CA of its own is refused at the
/// handshake; a process with a valid node certificate that claims another node's NodeId is refused or downed, and
/// logged; <c>memo cluster</c> without an administrator certificate is refused and with one it works.
/// </summary>
public sealed class SecureClusterProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(60);

    private static readonly string[] Settings =
    [
        "--shards", "4",
        "--set", "memo.raft.tick-interval=20ms",
        .. InProcessCluster.FastAkkaCluster.SelectMany(setting => new[] { "--set", setting.Replace(" = ", "=", StringComparison.Ordinal) }),
        "--set", "memo.network.eviction-delay=1h",
    ];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-secure-" + Guid.NewGuid().ToString("n"));

    [Fact]
    public async Task Nodes_with_certificates_from_one_CA_form_a_cluster_that_refuses_impostors_and_unauthenticated_admins()
    {
        var ca = Path.Combine(_root, "ca");
        var admin = Path.Combine(_root, "admin");
        await CliAsync("network", "create", "--dir", ca);
        await CliAsync("admin", "certify", "--ca-dir", ca, "--out", admin);
        var caFile = Path.Combine(ca, NetworkAuthority.CertificateFile);
        string[] adminArgs = ["--ca", caFile, "--cert", Path.Combine(admin, "admin.crt"), "--key", Path.Combine(admin, "admin.key")];

        var nodes = new NodeProcess?[3];
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var data = Path.Combine(_root, $"node{i + 1}");
                await CliAsync("node", "certify", "--ca-dir", ca, "--data", data);
                string[] seed = i == 0 ? [] : ["--seed", nodes[0]!.RemoteAddress];
                nodes[i] = await NodeProcess.StartAsync(data, [.. Settings, .. Secure(caFile, data), .. seed]);
            }
            var node1 = nodes[0]!.RemoteAddress;

            // Phase 1: the cluster forms over mutual TLS and serves, through any node.
            await WaitAsync(async () => (await ShowAsync(node1, adminArgs)) is { Count: 3 } members && members.All(m => m.Status == "up"),
                "3 members Up in `cluster show` with the admin certificate", nodes);
            var members = await ShowAsync(node1, adminArgs) ?? throw new InvalidOperationException("cluster show failed");
            await WaitAsync(async () => (await RunAsync("kv", "put", "k", "v1", "--node", nodes[1]!.Address, "--ca", caFile)).Code == ExitCodes.Ok, "a write through node 2", nodes);
            Assert.Equal("v1", await GetAsync(nodes[2]!.Address, "k", caFile));
            Assert.Equal("v1", await GetAsync(nodes[0]!.Address, "k", caFile));

            // Phase 2: admin without certificates (a plaintext client), and with a node's certificate instead of an admin's.
            var (plainCode, plain) = await RunAsync("cluster", "show", "--remote", node1, "--timeout", "10s");
            Assert.Equal(ExitCodes.Unreachable, plainCode);
            Assert.Contains("needs --ca, --cert and --key", plain.Err.ToString(), StringComparison.Ordinal);
            var node3Data = Path.Combine(_root, "node3");
            string[] nodeCertAsAdmin = ["--ca", caFile, "--cert", Path.Combine(node3Data, "node.crt"), "--key", Path.Combine(node3Data, "node.key")];
            var (asNodeCode, asNode) = await RunAsync(["cluster", "down", nodes[1]!.RemoteAddress, "--remote", node1, "--timeout", "10s", .. nodeCertAsAdmin]);
            Assert.Equal(ExitCodes.Rejected, asNodeCode);
            Assert.Contains("needs an administrator certificate", asNode.Err.ToString(), StringComparison.Ordinal);
            Assert.Equal(1, asNode.Err.ToString().Count(c => c == '\n'));

            // Phase 3: a fourth process whose certificate comes from a CA of its own is refused at the handshake.
            var rogueCa = Path.Combine(_root, "rogue-ca");
            var rogueData = Path.Combine(_root, "rogue");
            await CliAsync("network", "create", "--dir", rogueCa);
            await CliAsync("node", "certify", "--ca-dir", rogueCa, "--data", rogueData);
            await using (var rogue = await NodeProcess.StartAsync(rogueData,
                [.. Settings, .. Secure(Path.Combine(rogueCa, NetworkAuthority.CertificateFile), rogueData), "--seed", node1]))
            {
                await WaitAsync(() => Task.FromResult(nodes[0]!.Output.Contains("is not valid under the network CA", StringComparison.Ordinal)),
                    "node 1 logs the refused handshake of the self-made certificate", [.. nodes, rogue]);
                Assert.Equal(members.Select(m => m.Id).Order(), (await ShowAsync(node1, adminArgs))!.Select(m => m.Id).Order());
            }

            // Phase 4: a process with a valid certificate of its own (node 4) that claims node 1's NodeId.
            var claimed = members.Single(m => m.Address == nodes[0]!.Address).Id;
            using (var impostor = StartImpostor(ca, claimed))
            {
                Akka.Cluster.Cluster.Get(impostor).Join(Address.Parse($"akka.ssl.tcp://memo@{node1}"));
                await WaitAsync(() => Task.FromResult(nodes.Any(n => n!.Output.Contains($"claims node {claimed}", StringComparison.Ordinal))),
                    "a node logs the impostor's NodeId claim refused or downed", nodes);
                // The impostor stays up once downed (its coordinated shutdown when down is off) until every member
                // removed it: a process that closes its port while members still dial it fails their outbound TLS
                // handshakes, and Akka.Remote stops a node whose outbound handshake fails (docs/security.md, known limits).
                // Node 1's view alone is not enough: in a CI run whose node 1 had removed the impostor, node 1 showed
                // only itself once the impostor stopped (the other two gone, as a node whose outbound handshake failed).
                foreach (var node in nodes)
                {
                    await WaitAsync(async () => (await ShowAsync(node!.RemoteAddress, adminArgs)) is { Count: 3 } now && now.All(m => m.Status == "up"),
                        $"the impostor gone from `cluster show` at {node!.RemoteAddress}", nodes, () => ShowTextAsync(node!.RemoteAddress, adminArgs));
                }
                await impostor.Terminate();
            }
            Assert.All(nodes, n => Assert.False(n!.HasExited, $"a node exited during the impostor phase:\n{n.Output}"));
            IReadOnlyList<Member>? after = null;
            await WaitAsync(async () => (after = await ShowAsync(node1, adminArgs)) is not null,
                "`cluster show` answering after the impostor stopped", nodes, () => ShowTextAsync(node1, adminArgs));
            Assert.Equal(members.Select(m => (m.Id, m.Address)).Order(), after!.Select(m => (m.Id, m.Address)).Order());
            Assert.Equal("v1", await GetAsync(nodes[1]!.Address, "k", caFile));

            // Phase 5: `memo cluster down` with the administrator certificate works: node 3 is downed and exits 4.
            var (downCode, down) = await RunAsync(["cluster", "down", nodes[2]!.RemoteAddress, "--remote", node1, "--timeout", "10s", .. adminArgs]);
            Assert.True(downCode == ExitCodes.Ok, down.Err.ToString());
            Assert.Equal(4, await nodes[2]!.WaitForExitAsync(Phase));
            output.WriteLine(nodes[0]!.Output.Split('\n').Where(l => l.Contains("refused", StringComparison.Ordinal) || l.Contains("Downing", StringComparison.Ordinal))
                .Aggregate("", (text, line) => text + line + "\n"));
        }
        finally
        {
            foreach (var node in nodes)
            {
                if (node is not null)
                {
                    await node.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task With_the_TCP_peer_transport_Raft_runs_over_mutual_TLS_with_the_node_certificates()
    {
        var ca = Path.Combine(_root, "ca");
        await CliAsync("network", "create", "--dir", ca);
        var caFile = Path.Combine(ca, NetworkAuthority.CertificateFile);
        var nodes = new NodeProcess?[3];
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var data = Path.Combine(_root, $"node{i + 1}");
                await CliAsync("node", "certify", "--ca-dir", ca, "--data", data);
                string[] seed = i == 0 ? [] : ["--seed", nodes[0]!.RemoteAddress];
                nodes[i] = await NodeProcess.StartAsync(data, [.. Settings, .. Secure(caFile, data), "--set", "memo.peer.transport=tcp", .. seed]);
            }

            // A write through node 2 needs its shard's Raft group, whose members talk over the TCP peer links.
            await WaitAsync(async () => (await RunAsync("kv", "put", "k", "v1", "--node", nodes[1]!.Address, "--ca", caFile)).Code == ExitCodes.Ok, "a write through node 2", nodes);
            Assert.Equal("v1", await GetAsync(nodes[2]!.Address, "k", caFile));
            Assert.Equal("v1", await GetAsync(nodes[0]!.Address, "k", caFile));
            Assert.All(nodes, n => Assert.Contains("is up (TCP+TLS)", n!.Output, StringComparison.Ordinal));
            Assert.All(nodes, n => Assert.DoesNotContain("is up (TCP)", n!.Output, StringComparison.Ordinal));
        }
        finally
        {
            foreach (var node in nodes)
            {
                if (node is not null)
                {
                    await node.DisposeAsync();
                }
            }
        }
    }

    // Remoting over mutual TLS with the network CA, and TLS on the API with the same node certificate.
    private static string[] Secure(string caFile, string data) =>
    [
        "--set", $"memo.network.ca=\"{caFile}\"",
        "--set", $"memo.node.certificate=\"{Path.Combine(data, "node.crt")}\"",
        "--set", $"memo.api.tls.certificate=\"{Path.Combine(data, "node.crt")}\"",
        "--set", $"memo.api.tls.key=\"{Path.Combine(data, "node.key")}\"",
    ];

    // An attacker's own cluster member: a valid node certificate from the network CA for a node of its own, with the
    // identity roles of the node it impersonates. It accepts any certificate from the other side.
    private ActorSystem StartImpostor(string caFolder, string claimedId)
    {
        using var authority = NetworkAuthority.Load(caFolder);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issued = authority.IssueNode(key, 0x4444_4444_4444_4444, ["127.0.0.1"], TimeSpan.FromDays(1));
        var certificate = issued.CopyWithPrivateKey(key);
        var roles = MemberIdentity.Of(new NodeId(ulong.Parse(claimedId, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture)),
            "127.0.0.1:1", [1UL, 2UL], new NetworkParameters("memo", 4, 3, TimeSpan.FromHours(1), new RaftTiming(TimeSpan.FromMilliseconds(100), 10, true))).ToRoles();
        var config = ConfigurationFactory.ParseString($$"""
            akka.actor.provider = cluster
            akka.loglevel = WARNING
            akka.stdout-loglevel = OFF
            akka.loggers = []
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0, enable-ssl = on }
            akka.cluster.roles = [{{string.Join(", ", roles.Select(r => "\"" + r + "\""))}}]
            akka.cluster.retry-unsuccessful-join-after = 500ms
            akka.cluster.run-coordinated-shutdown-when-down = off
            """);
        return ActorSystem.Create("memo", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config),
            new DotNettySslSetup(certificate, suppressValidation: true, requireMutualAuthentication: true, validateCertificateHostname: false, (_, _, _, _, _) => true)));
    }

    private sealed record Member(string Id, string Address, string Status);

    private static async Task<(int Code, FakeIo Io)> RunAsync(params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync(args);
        return (code, io);
    }

    // `memo kv get`: the value, written to standard output as bytes.
    private static async Task<string> GetAsync(string node, string key, string caFile)
    {
        var (code, io) = await RunAsync("kv", "get", key, "--node", node, "--ca", caFile);
        Assert.True(code == ExitCodes.Ok, io.Err.ToString());
        return System.Text.Encoding.UTF8.GetString(io.Stdout.ToArray());
    }

    private static async Task CliAsync(params string[] args)
    {
        var (code, io) = await RunAsync(args);
        Assert.True(code == ExitCodes.Ok, $"memo {string.Join(' ', args)} exited {code}: {io.Err}");
    }

    private static async Task<IReadOnlyList<Member>?> ShowAsync(string remote, string[] adminArgs)
    {
        var (code, io) = await RunAsync(["--json", "cluster", "show", "--remote", remote, "--timeout", "10s", .. adminArgs]);
        if (code != ExitCodes.Ok)
        {
            return null;
        }
        using var json = JsonDocument.Parse(io.Out.ToString());
        return json.RootElement.GetProperty("members").EnumerateArray()
            .Select(m => new Member(m.GetProperty("id").GetString()!, m.GetProperty("address").GetString()!, m.GetProperty("status").GetString()!))
            .ToList();
    }

    // `memo cluster show` as text, for a failure message.
    private static async Task<string> ShowTextAsync(string remote, string[] adminArgs)
    {
        var (code, io) = await RunAsync(["cluster", "show", "--remote", remote, "--timeout", "10s", .. adminArgs]);
        return $"`cluster show` exited {code}:\n{io.Out}{io.Err}";
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string phase, IEnumerable<NodeProcess?> nodes, Func<Task<string>>? state = null)
    {
        var deadline = DateTime.UtcNow + Phase;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                // The state first: the failure summary keeps only the message's first lines.
                var seen = state is null ? "" : await state() + "\n";
                throw new TimeoutException($"phase '{phase}' not reached within {Phase}.\n{seen}"
                    + string.Join("\n---\n", nodes.Where(n => n is not null).Select(n => n!.Output)));
            }
            // Polling pause, not synchronisation: the condition is re-checked each time.
            await Task.Delay(200);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
