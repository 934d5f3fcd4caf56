using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Memo.Cli;
using Memo.Node.Tests.Cli;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Security;

/// <summary>
/// Users and passports end to end, on three node processes of a network created with an owner: the owner issues
/// passports with the CLI (alice write, bob read); bob cannot write (PERMISSION_DENIED), an anonymous client cannot read
/// (UNAUTHENTICATED), alice writes and bob reads through every node; a replayed call token is refused; a passport
/// revoked through one node stops working on every node within the revocation refresh and replication delay.
/// </summary>
public sealed class PassportClusterProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Passports_admit_alice_to_write_and_bob_to_read_refuse_the_rest_and_a_revocation_reaches_every_node()
    {
        await using var network = new OwnedProcessNetwork();
        await network.CreateAsync("alice", "bob");
        await network.CliAsync("passport", "create", "--user", "alice", "--allow", "read,write", "--as", "owner");
        await network.CliAsync("passport", "create", "--user", "bob", "--allow", "read", "--as", "owner");
        await network.StartNodesAsync(3);
        var nodes = network.Nodes;

        // Phase 1: alice writes through node 2 once the cluster serves.
        await network.WaitAsync(async () => (await network.RunAsync("kv", "put", "k", "v1", "--as", "alice", "--node", nodes[1].Address)).Code == ExitCodes.Ok,
            "alice's first write through node 2");

        // Phase 1b: the owner (with a passport of its own) publishes alice's user block; bob finds her key by name.
        await network.CliAsync("passport", "create", "--user", "owner", "--allow", "read,write,admin", "--as", "owner");
        await network.CliAsync("user", "publish", "alice", "--as", "owner", "--node", nodes[0].Address);
        var (lookup, lookupIo) = await network.RunAsync("--json", "user", "lookup", "alice", "--publisher", "owner", "--as", "bob", "--node", nodes[2].Address);
        Assert.True(lookup == ExitCodes.Ok, lookupIo.Err.ToString());
        var (_, aliceShown) = await network.RunAsync("--json", "user", "show", "alice");
        Assert.Contains(System.Text.Json.JsonDocument.Parse(aliceShown.Out.ToString()).RootElement.GetProperty("fingerprint").GetString()!, lookupIo.Out.ToString(),
            StringComparison.Ordinal);

        // Phase 2: bob may read, not write; anonymous callers may do neither.
        var bob = network.Credentials("bob");
        using var bobKey = bob.Key;
        using (var asBob = new MemoClient(nodes[0].Address, new MemoClientOptions { Credentials = bob }))
        {
            var denied = await Assert.ThrowsAsync<GrpcException>(() => asBob.UpsertAsync("k", "bob"u8.ToArray()));
            Assert.Equal(GrpcStatusCode.PermissionDenied, denied.Status);
        }
        var (bobPut, bobPutIo) = await network.RunAsync("kv", "put", "k", "bob", "--as", "bob", "--node", nodes[2].Address);
        Assert.Equal(ExitCodes.Rejected, bobPut);
        Assert.Contains("grants read, not write", bobPutIo.Err.ToString(), StringComparison.Ordinal);
        using (var anonymous = new MemoClient(nodes[0].Address))
        {
            Assert.Equal(GrpcStatusCode.Unauthenticated, (await Assert.ThrowsAsync<GrpcException>(() => anonymous.FetchAsync("k"))).Status);
            Assert.Equal(GrpcStatusCode.Unauthenticated, (await Assert.ThrowsAsync<GrpcException>(() => anonymous.UpsertAsync("k", "x"u8.ToArray()))).Status);
        }
        foreach (var node in nodes)
        {
            var (code, io) = await network.RunAsync("kv", "get", "k", "--as", "bob", "--node", node.Address);
            Assert.True(code == ExitCodes.Ok, io.Err.ToString());
            Assert.Equal("v1", System.Text.Encoding.UTF8.GetString(io.Stdout.ToArray()));
        }

        // Phase 3: the same signed call twice: the second is a replay.
        using (var channel = GrpcChannel.ForAddress("http://" + nodes[1].Address))
        {
            var request = new Memo.Protocol.Kvs.FetchRequest { Key = "k" };
            var headers = bob.HeadersFor("/memo.kvs.KeyValueStore/Fetch", request, DateTimeOffset.UtcNow);
            var kvs = new Memo.Protocol.Kvs.KeyValueStore.KeyValueStoreClient(channel);
            Assert.Equal("v1", (await kvs.FetchAsync(request, headers)).Value.ToStringUtf8());
            var replay = await Assert.ThrowsAsync<RpcException>(async () => await kvs.FetchAsync(request, headers));
            Assert.Equal(StatusCode.Unauthenticated, replay.StatusCode);
            Assert.Contains("replay", replay.Status.Detail, StringComparison.Ordinal);
        }

        // Phase 4: the owner revokes bob's passport through node 1; every node refuses it within the refresh delay.
        await network.CliAsync("passport", "revoke", "--user", "bob", "--as", "owner", "--node", nodes[0].Address);
        var started = DateTime.UtcNow;
        foreach (var node in nodes)
        {
            using var asBob = new MemoClient(node.Address, new MemoClientOptions { Credentials = bob });
            await network.WaitAsync(async () =>
            {
                try
                {
                    await asBob.FetchAsync("k");
                    return false;
                }
                catch (GrpcException e) when (e.Status == GrpcStatusCode.Unauthenticated && e.Message.Contains("revoked", StringComparison.Ordinal))
                {
                    return true;
                }
            }, $"bob's revoked passport refused by {node.Address}");
        }
        output.WriteLine($"the revocation reached all 3 nodes {(DateTime.UtcNow - started).TotalMilliseconds:F0} ms after it was committed (refresh 200 ms)");
        var (alice, aliceIo) = await network.RunAsync("kv", "put", "k", "v2", "--as", "alice", "--node", nodes[2].Address);
        Assert.True(alice == ExitCodes.Ok, aliceIo.Err.ToString());
    }
}
