using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Shards;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Wire;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Tests.ClusterData;

public sealed class ShardResultCodecTests
{
    public static TheoryData<ShardResult> Results()
    {
        var entry = new KvEntry { Format = 1, ValueAddress = ByteString.CopyFrom(new byte[32]), Version = 3 };
        return new TheoryData<ShardResult>
        {
            new ShardResult.BlockStored(),
            new ShardResult.BlockAlreadyStored(),
            new ShardResult.BlockRemoved(),
            new ShardResult.BlockConflict(new Block { Type = "OKB", Version = 7 }),
            new ShardResult.BlockMissing(),
            new ShardResult.BlockExists(),
            new ShardResult.Refused(BlockRejection.PermissionDenied, "not the owner"),
            new ShardResult.EntryWritten(null, entry),
            new ShardResult.EntryWritten(entry, new KvEntry(entry) { Version = 4 }),
            new ShardResult.EntryExists(),
            new ShardResult.EntryMissing(),
            new ShardResult.EntryDeleted(entry),
        };
    }

    [Theory]
    [MemberData(nameof(Results))]
    public void Every_shard_result_survives_the_wire(ShardResult result)
    {
        var wire = ShardResultMessage.Parser.ParseFrom(ShardResultCodec.Encode(result).ToByteArray());
        Assert.Equal(result, ShardResultCodec.Decode(wire));
    }

    [Fact]
    public void A_malformed_result_decodes_to_null()
    {
        Assert.Null(ShardResultCodec.Decode(new ShardResultMessage { Kind = ShardResultKind.EntryWritten }));
        Assert.Null(ShardResultCodec.Decode(new ShardResultMessage { Kind = ShardResultKind.BlockRefused, Rejection = 99 }));
        Assert.Null(ShardResultCodec.Decode(new ShardResultMessage()));
        Assert.Null(ShardResultCodec.Decode(null));
    }
}
