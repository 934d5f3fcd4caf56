using Google.Protobuf;
using Grpc.Net.Client;
using Memo.Node.Blocks;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;
using Memo.Protocol.ValueStore;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Api;

/// <summary>
/// The attacks of issue 9 that went through the node-internal shard service on the public port, by an anonymous
/// client of a real in-process node: each is refused by the shard's state machine, nothing stored changes and the
/// node keeps serving.
/// </summary>
public sealed class ShardServiceForgeryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly ShardLayout Layout = new(8);
    private TestNode _node = null!;
    private MemoClient _client = null!;
    private GrpcChannel _channel = null!;
    private ShardService.ShardServiceClient _shards = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(["memo.shards.count = 8"]);
        _client = _node.Client();
        _channel = GrpcChannel.ForAddress("http://" + _node.Address);
        _shards = new ShardService.ShardServiceClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        _client.Dispose();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task Deleting_a_keys_value_block_or_forging_a_mutable_block_through_the_shard_service_is_refused()
    {
        var value = new byte[64 * 1024]; // over the inline limit: the value block lives in its own shard
        Random.Shared.NextBytes(value);
        await _client.UpsertAsync("victim", value);
        using var owner = MemoKeyPair.Generate();
        var okb = BlockFactory.MakeMutable(owner, "v0"u8);
        await _client.InsertBlockAsync(okb);

        // The attacker reads the entry: it names the value block, but not the key that unlocks its reclaim.
        var read = await _shards.ReadAsync(new ReadRequest { Format = 1, Shard = (uint)Layout.ShardOf("victim").Value, EntryKey = "victim" });
        Assert.True(read.Found);
        var entry = KvEntry.Parser.ParseFrom(read.Data);
        Assert.True(entry.ReclaimKey.IsEmpty);
        var valueAddress = BlockAddress.FromBytes(entry.ValueAddress.Span);

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
            var shard = ShardStateMachine.TargetOf(command).Address;
            var reply = await ProposeAsync(Layout.ShardOf(shard), command);
            Assert.Equal(ShardReplyStatus.Applied, reply.Status);
            var refused = Assert.IsType<ShardResult.Refused>(ShardResultCodec.Decode(reply.Result));
            Assert.Equal(BlockRejection.PermissionDenied, refused.Kind);
            output.WriteLine($"{what}: {refused.Reason}");
        }

        // A command sent to a shard its record does not belong to never enters that shard's log.
        var stray = BlockFactory.MakeImmutable("stray"u8, null);
        var wrongShard = (Layout.ShardOf(stray.GetAddress()).Value + 1) % Layout.ShardCount;
        var misdirected = await _shards.ProposeAsync(new ProposeRequest
        {
            Format = 1,
            Shard = (uint)wrongShard,
            Command = new ShardCommand { Format = 1, InsertBlock = new InsertBlock { Block = stray } }.ToByteString(),
        });
        Assert.Equal(ShardReplyStatus.Invalid, misdirected.Status);
        output.WriteLine($"misdirected insert: {misdirected.Reason}");
        Assert.Null(await _client.FetchBlockAsync(stray.GetAddress()));

        Assert.Equal(value, await _client.FetchAsync("victim"));
        Assert.Equal("v0", (await _client.FetchBlockAsync(okb.GetAddress()))!.Data.ToStringUtf8());
    }

    [Fact]
    public async Task A_key_whose_value_block_is_missing_is_failed_precondition_not_an_internal_error()
    {
        // Entries carry no access control yet, so anyone may point a key at a block that is not stored; a reader then
        // gets a clear status, and overwriting the key repairs it.
        var missing = BlockFactory.MakeImmutable("never stored"u8, null);
        var command = new ShardCommand { Format = 1, WriteEntry = new WriteEntry { Key = "dangling", ValueAddress = missing.Address } };
        var reply = await ProposeAsync(Layout.ShardOf("dangling"), command);
        Assert.IsType<ShardResult.EntryWritten>(ShardResultCodec.Decode(reply.Result));

        var fetch = await Assert.ThrowsAsync<GrpcException>(() => _client.FetchAsync("dangling"));
        Assert.Equal(GrpcStatusCode.FailedPrecondition, fetch.Status);
        output.WriteLine(fetch.Message);
        Assert.Contains("Overwrite or delete the key", fetch.Message, StringComparison.Ordinal);

        await _client.UpsertAsync("dangling", "repaired"u8.ToArray());
        Assert.Equal("repaired"u8.ToArray(), await _client.FetchAsync("dangling"));
    }

    // The shard service answers NOT_LEADER until the node's new groups have elected themselves; a real forwarder
    // retries the same way.
    private async Task<ProposeReply> ProposeAsync(ShardId shard, ShardCommand command)
    {
        var request = new ProposeRequest { Format = 1, Shard = (uint)shard.Value, Command = command.ToByteString() };
        for (var attempt = 0; ; attempt++)
        {
            var reply = await _shards.ProposeAsync(request);
            if (reply.Status is not (ShardReplyStatus.NotLeader or ShardReplyStatus.Dropped) || attempt == 200)
            {
                return reply;
            }
            await Task.Delay(50);
        }
    }
}
