using Google.Protobuf;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Tests.Shards;

public sealed class ShardStateMachineTests : IDisposable
{
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _stranger = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        _stranger.Dispose();
    }

    private static ShardCommand Insert(Block block) => new() { Format = 1, InsertBlock = new InsertBlock { Block = block } };
    private static ShardCommand Update(Block block) => new() { Format = 1, UpdateBlock = new UpdateBlock { Block = block } };
    private static ShardCommand Write(string key, WriteMode mode, byte last = 1) => new()
    {
        Format = 1,
        WriteEntry = new WriteEntry { Key = key, Mode = mode, ValueAddress = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 31).Append(last).ToArray()) },
    };

    [Fact]
    public void Inserting_a_new_block_stores_its_bytes()
    {
        var block = BlockFactory.MakeImmutable([1, 2, 3], _owner.PublicKey);
        var decision = ShardStateMachine.Decide(Insert(block), current: null);
        Assert.IsType<ShardResult.BlockStored>(decision.Result);
        Assert.True(decision.Changed);
        Assert.Equal(block, Block.Parser.ParseFrom(decision.NewValue));
    }

    [Fact]
    public void Inserting_the_same_immutable_block_twice_is_an_idempotent_success()
    {
        var block = BlockFactory.MakeImmutable([1, 2, 3], _owner.PublicKey);
        var decision = ShardStateMachine.Decide(Insert(block), block.ToByteArray());
        Assert.IsType<ShardResult.BlockAlreadyStored>(decision.Result);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void Inserting_over_an_existing_mutable_block_is_refused_as_existing()
    {
        var block = BlockFactory.MakeMutable(_owner, [1]);
        var decision = ShardStateMachine.Decide(Insert(block), block.ToByteArray());
        Assert.IsType<ShardResult.BlockExists>(decision.Result);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void Update_with_the_next_version_replaces_the_block()
    {
        var v0 = BlockFactory.MakeMutable(_owner, [1]);
        var v1 = BlockFactory.NextVersion(v0, [2], _owner);
        var decision = ShardStateMachine.Decide(Update(v1), v0.ToByteArray());
        Assert.IsType<ShardResult.BlockStored>(decision.Result);
        Assert.Equal(1, Block.Parser.ParseFrom(decision.NewValue).Version);
    }

    [Fact]
    public void Update_with_a_stale_version_reports_a_conflict_carrying_the_stored_block()
    {
        var v0 = BlockFactory.MakeMutable(_owner, [1]);
        var v1 = BlockFactory.NextVersion(v0, [2], _owner);
        var otherV1 = BlockFactory.NextVersion(v0, [3], _owner);
        var decision = ShardStateMachine.Decide(Update(otherV1), v1.ToByteArray());
        var conflict = Assert.IsType<ShardResult.BlockConflict>(decision.Result);
        Assert.Equal(v1, conflict.Current);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void Update_of_a_missing_block_reports_it_missing()
    {
        var v0 = BlockFactory.MakeMutable(_owner, [1]);
        var v1 = BlockFactory.NextVersion(v0, [2], _owner);
        Assert.IsType<ShardResult.BlockMissing>(ShardStateMachine.Decide(Update(v1), null).Result);
    }

    [Fact]
    public void Delete_needs_the_owners_removal_signature()
    {
        var block = BlockFactory.MakeMutable(_owner, [1]);
        var stored = block.ToByteArray();
        ShardCommand Delete(byte[] signature) => new() { Format = 1, DeleteBlock = new DeleteBlock { Address = block.Address, Signature = ByteString.CopyFrom(signature) } };

        var refused = ShardStateMachine.Decide(Delete(_stranger.Sign(BlockSigning.RemovalBytes(block))), stored);
        Assert.Equal(Memo.Node.Blocks.BlockRejection.PermissionDenied, Assert.IsType<ShardResult.BlockRefused>(refused.Result).Kind);
        Assert.False(refused.Changed);

        var removed = ShardStateMachine.Decide(Delete(BlockFactory.RemovalSignature(block, _owner)), stored);
        Assert.IsType<ShardResult.BlockRemoved>(removed.Result);
        Assert.True(removed.Changed);
        Assert.Null(removed.NewValue);
    }

    [Fact]
    public void Insert_mode_refuses_an_existing_key_and_update_mode_a_missing_one()
    {
        var existing = ShardStateMachine.Decide(Write("k", WriteMode.Upsert), null).NewValue;
        Assert.IsType<ShardResult.EntryExists>(ShardStateMachine.Decide(Write("k", WriteMode.Insert), existing).Result);
        Assert.IsType<ShardResult.EntryMissing>(ShardStateMachine.Decide(Write("k", WriteMode.Update), null).Result);
    }

    [Fact]
    public void Each_write_of_a_key_bumps_its_version_and_reports_the_replaced_entry()
    {
        var first = ShardStateMachine.Decide(Write("k", WriteMode.Insert, 1), null);
        var firstEntry = Assert.IsType<ShardResult.EntryWritten>(first.Result);
        Assert.Null(firstEntry.Previous);
        Assert.Equal(1UL, firstEntry.Current.Version);

        var second = ShardStateMachine.Decide(Write("k", WriteMode.Update, 3), first.NewValue);
        var secondEntry = Assert.IsType<ShardResult.EntryWritten>(second.Result);
        Assert.Equal(firstEntry.Current, secondEntry.Previous);
        Assert.Equal(2UL, secondEntry.Current.Version);
    }

    [Fact]
    public void Deleting_a_key_reports_the_entry_it_had_and_a_missing_key_as_missing()
    {
        var written = ShardStateMachine.Decide(Write("k", WriteMode.Upsert), null);
        var delete = new ShardCommand { Format = 1, DeleteEntry = new DeleteEntry { Key = "k" } };
        var deleted = ShardStateMachine.Decide(delete, written.NewValue);
        Assert.IsType<ShardResult.EntryDeleted>(deleted.Result);
        Assert.True(deleted.Changed);
        Assert.IsType<ShardResult.EntryMissing>(ShardStateMachine.Decide(delete, null).Result);
    }

    [Fact]
    public void Reclaiming_removes_a_block_without_a_signature_and_tolerates_absence()
    {
        var block = BlockFactory.MakeImmutable([9], _owner.PublicKey);
        var reclaim = new ShardCommand { Format = 1, ReclaimBlock = new ReclaimBlock { Address = block.Address } };
        Assert.IsType<ShardResult.BlockRemoved>(ShardStateMachine.Decide(reclaim, block.ToByteArray()).Result);
        Assert.IsType<ShardResult.BlockMissing>(ShardStateMachine.Decide(reclaim, null).Result);
    }

    [Fact]
    public void A_command_without_a_kind_is_rejected_as_invalid()
    {
        Assert.Throws<InvalidShardCommandException>(() => ShardStateMachine.TargetOf(new ShardCommand()));
    }

    [Fact]
    public void Deciding_is_deterministic()
    {
        var block = BlockFactory.MakeMutable(_owner, [1, 2]);
        var next = BlockFactory.NextVersion(block, [3], _owner);
        var a = ShardStateMachine.Decide(Update(next), block.ToByteArray());
        var b = ShardStateMachine.Decide(Update(next), block.ToByteArray());
        Assert.Equal(a.NewValue, b.NewValue);
        Assert.Equal(a.Result, b.Result);
    }
}
