using Google.Protobuf;
using Grpc.Net.Client;
using Memo.Node.Blocks;
using Memo.Node.Hosting;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Api;

/// <summary>
/// The attacks of issue 9 that once went through the node-internal shard service on the public port. That service is
/// gone: an anonymous client of the public port gets UNIMPLEMENTED for each of them. Forwarding now runs over the peer
/// links, so the same forged commands are sent the only way left, through another member's forwarder, and each is
/// still refused by the shard's state machine; nothing stored changes and the nodes keep serving.
/// </summary>
public sealed class ShardServiceForgeryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly ShardLayout Layout = new(4);
    private InProcessCluster _cluster = null!;
    private MemoClient _client = null!;

    public async Task InitializeAsync()
    {
        _cluster = await InProcessCluster.StartAsync(2);
        await _cluster.WaitUntilAsync(nodes => nodes.Count == 2 && nodes.All(n => n.View.Membership.Members.Values.Count(m => m.Status == Memo.Node.Cluster.MemberStatus.Up) == 2),
            "both nodes see two Up members", TimeSpan.FromSeconds(60));
        _client = new MemoClient(_cluster.Nodes[0].Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _cluster.DisposeAsync();
    }

    [Theory]
    [InlineData("Propose")]
    [InlineData("Read")]
    [InlineData("Status")]
    public async Task The_old_shard_service_is_unimplemented_on_the_public_port(string method)
    {
        // What the attacks sent then: a well-formed request of the old service, here a reclaim without its key.
        var reclaim = new ShardCommand { Format = 1, ReclaimBlock = new ReclaimBlock { Address = ByteString.CopyFrom(new byte[32]) } };
        var request = method switch
        {
            "Propose" => new ProposeRequest { Format = 1, Shard = 0, Command = reclaim.ToByteString() }.ToByteArray(),
            "Read" => new ReadRequest { Format = 1, Shard = 0, EntryKey = "victim" }.ToByteArray(),
            _ => new ReplicaStatusRequest { Format = 1 }.ToByteArray(),
        };
        using var channel = GrpcChannel.ForAddress("http://" + _cluster.Nodes[0].Address);
        var bytes = global::Grpc.Core.Marshallers.Create<byte[]>(b => b, b => b);
        var descriptor = new global::Grpc.Core.Method<byte[], byte[]>(global::Grpc.Core.MethodType.Unary, "memo.shard.ShardService", method, bytes, bytes);

        var e = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => channel.CreateCallInvoker()
            .AsyncUnaryCall(descriptor, null, new global::Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), request).ResponseAsync);

        Assert.Equal(global::Grpc.Core.StatusCode.Unimplemented, e.StatusCode);
        await _client.UpsertAsync("still-serving", "yes"u8.ToArray());
    }

    [Fact]
    public async Task Deleting_a_keys_value_block_or_forging_a_mutable_block_through_a_peers_forwarder_is_refused()
    {
        var value = new byte[64 * 1024]; // over the inline limit: the value block lives in its own shard
        Random.Shared.NextBytes(value);
        await _client.UpsertAsync("victim", value);
        using var owner = MemoKeyPair.Generate();
        var okb = BlockFactory.MakeMutable(owner, "v0"u8);
        await _client.InsertBlockAsync(okb);

        // A member reads the entry: it names the value block, but not the key that unlocks its reclaim.
        var read = await ThroughPeerAsync(Layout.ShardOf("victim"), (forwarder, leader) =>
            Answer(forwarder.ReadAsync(leader, new ReadRequest { Format = 1, Shard = (uint)Layout.ShardOf("victim").Value, EntryKey = "victim" }, Wait, default)),
            r => r.Status);
        Assert.True(read.Found);
        var entry = KvEntry.Parser.ParseFrom(read.Data);
        Assert.True(entry.ReclaimKey.IsEmpty);

        var forgedOkb = BlockFactory.NextVersion(okb, "forged"u8, owner);
        forgedOkb.Data = ByteString.CopyFromUtf8("not what the owner signed");
        var attacks = new (string What, ShardCommand Command)[]
        {
            ("reclaim of the key's value block", new() { Format = 1, ReclaimBlock = new ReclaimBlock { Address = entry.ValueAddress } }),
            ("unsigned delete of the key's value block", new() { Format = 1, DeleteBlock = new DeleteBlock { Address = entry.ValueAddress } }),
            ("update to a forged mutable block", new() { Format = 1, UpdateBlock = new UpdateBlock { Block = forgedOkb } }),
        };
        foreach (var (what, command) in attacks)
        {
            var shard = Layout.ShardOf(ShardStateMachine.TargetOf(command).Address);
            var reply = await ProposeThroughPeerAsync(shard, command);
            Assert.Equal(ShardReplyStatus.Applied, reply.Status);
            var refused = Assert.IsType<ShardResult.Refused>(ShardResultCodec.Decode(reply.Result));
            Assert.Equal(BlockRejection.PermissionDenied, refused.Kind);
            output.WriteLine($"{what}: {refused.Reason}");
        }

        // A command sent to a shard its record does not belong to never enters that shard's log.
        var stray = BlockFactory.MakeImmutable("stray"u8, null);
        var wrongShard = new ShardId((Layout.ShardOf(stray.GetAddress()).Value + 1) % Layout.ShardCount);
        var misdirected = await ProposeThroughPeerAsync(wrongShard, new ShardCommand { Format = 1, InsertBlock = new InsertBlock { Block = stray } });
        Assert.Equal(ShardReplyStatus.Invalid, misdirected.Status);
        output.WriteLine($"misdirected insert: {misdirected.Reason}");
        Assert.Null(await _client.FetchBlockAsync(stray.GetAddress()));

        Assert.Equal(value, await _client.FetchAsync("victim"));
        Assert.Equal("v0", (await _client.FetchBlockAsync(okb.GetAddress()))!.Data.ToStringUtf8());
    }

    [Fact]
    public async Task A_key_whose_value_block_is_missing_is_failed_precondition_not_an_internal_error()
    {
        // Entries carry no access control yet, so a member may point a key at a block that is not stored; a reader then
        // gets a clear status, and overwriting the key repairs it.
        var missing = BlockFactory.MakeImmutable("never stored"u8, null);
        var command = new ShardCommand { Format = 1, WriteEntry = new WriteEntry { Key = "dangling", ValueAddress = missing.Address } };
        var reply = await ProposeThroughPeerAsync(Layout.ShardOf("dangling"), command);
        Assert.IsType<ShardResult.EntryWritten>(ShardResultCodec.Decode(reply.Result));

        var fetch = await Assert.ThrowsAsync<GrpcException>(() => _client.FetchAsync("dangling"));
        Assert.Equal(GrpcStatusCode.FailedPrecondition, fetch.Status);
        output.WriteLine(fetch.Message);
        Assert.Contains("Overwrite or delete the key", fetch.Message, StringComparison.Ordinal);

        await _client.UpsertAsync("dangling", "repaired"u8.ToArray());
        Assert.Equal("repaired"u8.ToArray(), await _client.FetchAsync("dangling"));
    }

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private Task<ProposeReply> ProposeThroughPeerAsync(ShardId shard, ShardCommand command)
    {
        var request = new ProposeRequest { Format = 1, Shard = (uint)shard.Value, Command = command.ToByteString() };
        return ThroughPeerAsync(shard, (forwarder, leader) => Answer(forwarder.ProposeAsync(leader, request, Wait, default)), r => r.Status);
    }

    private static async Task<T> Answer<T>(Task<ForwardedCall<T>> call)
        where T : class
    {
        var result = await call;
        Assert.True(result.Fate == ForwardedCallFate.Answered, $"the forwarded call ended {result.Fate}");
        return result.Answer!;
    }

    // Sends from the member that does not lead the shard to the one that does, as a gateway would; retries while the
    // shard has no leader yet or it moved (NOT_LEADER, DROPPED), like a real forwarder.
    private async Task<T> ThroughPeerAsync<T>(ShardId shard, Func<ShardForwarder, NodeId, Task<T>> call, Func<T, ShardReplyStatus> status)
    {
        for (var attempt = 0; ; attempt++)
        {
            var nodes = _cluster.Running.Select(s => s.Running).ToList();
            var leader = nodes.FirstOrDefault(n => n.Shards.TryGetReplica(shard, out var r) && r.Status.IsLeader);
            if (leader is not null)
            {
                MemoNode peer = nodes.First(n => n != leader);
                var answer = await call(peer.Shards.Forwarder, leader.NodeId);
                if (status(answer) is not (ShardReplyStatus.NotLeader or ShardReplyStatus.Dropped) || attempt >= 200)
                {
                    return answer;
                }
            }
            else if (attempt >= 200)
            {
                throw new TimeoutException($"shard {shard} has no leader:\n{_cluster.Describe()}");
            }
            await Task.Delay(50);
        }
    }
}
