using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Grpc.Net.Client;
using Memo.Cli;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Configuration;
using Memo.Node.Hosting;
using Memo.Node.Security;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Tests.Cli;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;
using Memo.Testing;

namespace Memo.Node.Tests.Security;

/// <summary>
/// Storage passports (docs/security.md, "Storage passports"): on a network with an owner a node starts only with a
/// passport granting <c>storage</c> for its own key; the members down a member that joins without a valid one (none,
/// or another node's copied), log why, and never place it; a node with one joins; a node whose storage passport is
/// revoked is downed.
/// </summary>
public sealed class StoragePassportTests : IDisposable
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-storage-passports-" + Guid.NewGuid().ToString("n"));
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task A_node_of_an_owned_network_refuses_to_start_without_a_storage_passport_for_its_key_and_says_how_to_get_one()
    {
        Directory.CreateDirectory(_root);
        var ownerFile = Path.Combine(_root, "owner.pub");
        await File.WriteAllTextAsync(ownerFile, MemoUser.PublicKeyToPem(_owner.PublicKey));
        string[] owned = [$"memo.network.owner = \"{ownerFile}\"", "memo.shards.count = 4"];
        var data = Path.Combine(_root, "data");

        // No passport at all.
        var missing = await Assert.ThrowsAsync<MemoConfigurationException>(() => TestNode.StartAsync(owned, dataDirectory: data));
        Assert.Contains("node.passport is missing", missing.Message, StringComparison.Ordinal);
        Assert.Contains($"memo passport create --node {Path.GetFullPath(data)} --allow storage --as OWNER", missing.Message, StringComparison.Ordinal);

        // A passport that grants reading only.
        using (var folder = DataFolder.Open(data))
        using (var key = NodeIdentity.LoadOrCreate(folder, passphrase: null))
        {
            var reader = PassportIssuer.Issue(_owner, key.PublicKey, "node", "memo", [new PassportGrantRule(PassportRights.Read, "")], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await File.WriteAllBytesAsync(Path.Combine(data, StorageTicket.FileName), Google.Protobuf.MessageExtensions.ToByteArray(reader));
        }
        var readOnly = await Assert.ThrowsAsync<MemoConfigurationException>(() => TestNode.StartAsync(owned, dataDirectory: data));
        Assert.Contains("not storage", readOnly.Message, StringComparison.Ordinal);

        // A storage passport for another node's key.
        using (var other = MemoKeyPair.Generate())
        {
            var foreign = PassportIssuer.Issue(_owner, other.PublicKey, "other", "memo", [new PassportGrantRule(PassportRights.Storage, "")], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await File.WriteAllBytesAsync(Path.Combine(data, StorageTicket.FileName), Google.Protobuf.MessageExtensions.ToByteArray(foreign));
        }
        var wrongKey = await Assert.ThrowsAsync<MemoConfigurationException>(() => TestNode.StartAsync(owned, dataDirectory: data));
        Assert.Contains("did not sign", wrongKey.Message, StringComparison.Ordinal);

        // A storage passport signed by someone other than the owner.
        using (var stranger = MemoKeyPair.Generate())
        {
            StoragePassportFiles.Issue(data, stranger, "memo");
        }
        var unsigned = await Assert.ThrowsAsync<MemoConfigurationException>(() => TestNode.StartAsync(owned, dataDirectory: data));
        Assert.Contains("is not valid", unsigned.Message, StringComparison.Ordinal);

        // The owner issues one with the CLI (a usage error first for a node's passport without storage, and for
        // neither --user nor --node); the node starts with it and serves.
        var home = Path.Combine(_root, "home");
        Directory.CreateDirectory(Path.Combine(home, "users"));
        await File.WriteAllTextAsync(Path.Combine(home, "users", "owner.key"), new string(System.Security.Cryptography.PemEncoding.Write("PRIVATE KEY", _owner.ExportPkcs8())));
        var (noStorage, noStorageIo) = await CliAsync("passport", "create", "--node", data, "--allow", "read", "--as", "owner", "--home", home);
        Assert.Equal(ExitCodes.Usage, noStorage);
        Assert.Contains("--allow storage", noStorageIo.Err.ToString(), StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, (await CliAsync("passport", "create", "--allow", "storage", "--as", "owner", "--home", home)).Code);
        var (issued, issuedIo) = await CliAsync("passport", "create", "--node", data, "--allow", "storage", "--as", "owner", "--home", home);
        Assert.True(issued == ExitCodes.Ok, issuedIo.Err.ToString());
        Assert.Contains(Path.Combine(data, StorageTicket.FileName), issuedIo.Out.ToString(), StringComparison.Ordinal);
        await using var node = await TestNode.StartAsync(owned, dataDirectory: data);
        using var timeout = new CancellationTokenSource(Phase);
        var serving = await node.Node.Cluster.WaitForViewAsync(v => v.IsServing, timeout.Token);
        Assert.Equal(Node.Cluster.MemberStatus.Up, serving.SelfStatus);
    }

    [Fact]
    public async Task Members_down_a_joiner_without_a_valid_storage_passport_admit_one_with_it_and_down_a_node_whose_passport_is_revoked()
    {
        var logs = new TestLoggerFactory();
        await using var cluster = await InProcessCluster.StartAsync(2, ["memo.security.revocation-refresh = 200ms", "memo.raft.tick-interval = 20ms"], logs, owner: _owner);
        await cluster.WaitUntilAsync(nodes => nodes.All(n => n.View.Membership.Members.Count == 2 && n.View.IsConverged), "two members Up", Phase);
        var genuineRoles = Akka.Cluster.Cluster.Get(cluster.Nodes[0].Running.ActorSystem).SelfMember.Roles;
        Assert.True(MemberIdentity.TryParse(genuineRoles, out var genuine, out _));
        Assert.NotNull(genuine.Storage);

        // Phase 1: a process that is not a node of this network joins with a memo identity and no storage passport,
        // then one that shows node 1's storage passport (copied from its roles) under a NodeId of its own.
        foreach (var (storage, reason) in new[] { ((string?)null, StoragePassports.NoTicket), (genuine.Storage, "which did not sign this member's claim") })
        {
            var impostorId = new NodeId((ulong)Random.Shared.NextInt64(1, long.MaxValue));
            var roles = (genuine with { Node = impostorId, ApiAddress = "127.0.0.1:9", Tokens = [1UL, 2UL, 3UL], Storage = storage }).ToRoles();
            using var impostor = ActorSystem.Create(cluster.Network, ConfigurationFactory.ParseString($"""
                akka.actor.provider = cluster
                akka.remote.dot-netty.tcp.hostname = 127.0.0.1
                akka.remote.dot-netty.tcp.port = 0
                akka.cluster.roles = [{string.Join(", ", roles.Select(r => "\"" + r + "\""))}]
                akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                akka.cluster.split-brain-resolver.active-strategy = keep-majority
                akka.loglevel = WARNING
                """).WithFallback(ConfigurationFactory.ParseString(string.Join("\n", InProcessCluster.FastAkkaCluster))));
            var address = Akka.Cluster.Cluster.Get(impostor).SelfAddress;
            Akka.Cluster.Cluster.Get(impostor).Join(Akka.Cluster.Cluster.Get(cluster.Nodes[0].Running.ActorSystem).SelfAddress);
            await WaitAsync(() => logs.Entries.Any(e => e.Message.Contains($"Downing the member at {address}", StringComparison.Ordinal) && e.Message.Contains(reason, StringComparison.Ordinal)),
                $"the member at {address} downed: {reason}", logs);
            await WaitAsync(() => Akka.Cluster.Cluster.Get(cluster.Nodes[0].Running.ActorSystem).State.Members
                .All(m => !m.Address.Equals(address) || m.Status is Akka.Cluster.MemberStatus.Down or Akka.Cluster.MemberStatus.Removed), $"the member at {address} Down or gone", logs);
            foreach (var slot in cluster.Nodes)
            {
                Assert.Empty(slot.View.ShardsOf(impostorId));
            }
            await impostor.Terminate();
        }

        // Phase 2: a node with the owner's storage passport joins and is placed.
        var third = await cluster.AddNodeAsync();
        await cluster.WaitUntilAsync(nodes => nodes.All(n => n.View.Membership.Members.Values.Count(m => m.Status == Node.Cluster.MemberStatus.Up) == 3),
            "three members Up", Phase);

        // Phase 3: the owner revokes the third node's storage passport; the others down it and it stops.
        var passport = Passport.Parser.ParseFrom(await File.ReadAllBytesAsync(Path.Combine(third.DataDirectory, StorageTicket.FileName)));
        var revocation = PassportIssuer.Revoke(_owner, PassportIssuer.IdOf(passport), cluster.Network, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        using (var channel = GrpcChannel.ForAddress("http://" + cluster.Nodes[0].Address))
        {
            await WaitAsync(async () =>
            {
                try
                {
                    await new Passports.PassportsClient(channel).RevokeAsync(new RevokeRequest { Revocation = revocation }, deadline: DateTime.UtcNow.AddSeconds(10));
                    return true;
                }
                catch (Grpc.Core.RpcException e) when (e.StatusCode is Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.DeadlineExceeded)
                {
                    return false;
                }
            }, "the revocation committed", logs);
        }
        Assert.Equal(MemoNodeExit.Downed, await third.Running.Exited.WaitAsync(Phase));
        Assert.Contains(logs.Entries, e => e.Message.Contains("is revoked", StringComparison.Ordinal) && e.Message.Contains("Downing the member", StringComparison.Ordinal));
    }

    private static async Task<(int Code, FakeIo Io)> CliAsync(params string[] args)
    {
        var io = new FakeIo();
        return (await new MemoCli(io.Io).RunAsync(args), io);
    }

    private static Task WaitAsync(Func<bool> condition, string phase, TestLoggerFactory logs) => WaitAsync(() => Task.FromResult(condition()), phase, logs);

    private static async Task WaitAsync(Func<Task<bool>> condition, string phase, TestLoggerFactory logs)
    {
        var deadline = DateTime.UtcNow + Phase;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"phase '{phase}' not reached within {Phase}; warnings logged:\n"
                    + string.Join("\n", logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Message)));
            }
            // Polling pause, not synchronisation: the condition is re-checked each time.
            await Task.Delay(50);
        }
    }
}
