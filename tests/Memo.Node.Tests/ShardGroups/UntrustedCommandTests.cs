using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Replicated;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;
using Xunit.Abstractions;
using static Memo.Node.Tests.ShardGroups.ShardGroupTestCluster;

namespace Memo.Node.Tests.ShardGroups;

/// <summary>
/// Commands proposed straight to a shard group, around the API (as the node-internal shard service or a hostile
/// member could): the state machine refuses every forged one when it applies it, on every replica alike, and
/// nothing stored changes.
/// </summary>
public sealed class UntrustedCommandTests(ITestOutputHelper output) : IDisposable
{
    private static readonly int[] Three = [1, 2, 3];
    private static readonly ShardLayout Layout = new(4);

    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _stranger = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        _stranger.Dispose();
    }

    [Fact]
    public async Task Forged_commands_proposed_directly_to_a_group_are_refused_at_apply_and_change_nothing_on_any_replica()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 1201, layout: Layout);
        await cluster.StartGroupAsync(Three);

        // Phase 1: honest state: a mutable block, a key-value value block with its entry, an inline entry.
        var okb = InShard(() => BlockFactory.MakeMutable(_owner, "v0"u8));
        var reclaimKey = Array.Empty<byte>();
        var value = InShard(() =>
        {
            reclaimKey = ReclaimKeys.NewKey();
            return BlockFactory.MakeImmutable("value"u8, _owner.PublicKey, ReclaimKeys.SaltOf(reclaimKey));
        });
        var key = KeyInShard("key");
        var inlineKey = KeyInShard("inline");
        var inline = BlockFactory.MakeImmutable("small"u8, _owner.PublicKey);
        Assert.IsType<ShardResult.BlockStored>((await cluster.WriteAsync(Insert(okb), "insert okb")).Result);
        Assert.IsType<ShardResult.BlockStored>((await cluster.WriteAsync(Insert(value), "insert value block")).Result);
        Assert.IsType<ShardResult.EntryWritten>((await cluster.WriteAsync(Write(key, value.Address, reclaimKey: reclaimKey), "write entry")).Result);
        Assert.IsType<ShardResult.EntryWritten>((await cluster.WriteAsync(Write(inlineKey, inline.Address, inline), "write inline entry")).Result);
        await cluster.CaughtUpAsync("honest state applied", Three);
        var before = await DumpAsync(cluster.Nodes[N(1)].Silo);
        Assert.Equal(4, before.Count);

        // Phase 2: forged commands, each committed to the log and refused by the state machine.
        var tamperedOkb = InShard(() => BlockFactory.MakeMutable(_owner, "x"u8));
        tamperedOkb.Data = ByteString.CopyFromUtf8("not what the owner signed");
        var tamperedUpdate = BlockFactory.NextVersion(okb, "v1"u8, _owner);
        tamperedUpdate.Data = ByteString.CopyFromUtf8("evil");
        var strangersUpdate = okb.Clone();
        strangersUpdate.Version = 1;
        strangersUpdate.OwnerKey = ByteString.CopyFrom(_stranger.PublicKey.Spki.Span);
        strangersUpdate.Signature = ByteString.CopyFrom(_stranger.SignDigest(BlockSigning.SigningDigest(strangersUpdate)));
        var tamperedInline = inline.Clone();
        tamperedInline.Data = ByteString.CopyFromUtf8("evil");
        var forged = new (string What, ShardCommand Command, BlockRejection Kind)[]
        {
            ("insert of a mutable block whose data was changed after signing", Insert(tamperedOkb), BlockRejection.PermissionDenied),
            ("update whose data was changed after signing", Update(tamperedUpdate), BlockRejection.PermissionDenied),
            ("update signed by a stranger", Update(strangersUpdate), BlockRejection.PermissionDenied),
            ("delete of a value block without a signature", Delete(value.Address, []), BlockRejection.PermissionDenied),
            ("delete of a value block signed by a stranger", Delete(value.Address, _stranger.Sign(BlockSigning.RemovalBytes(value))), BlockRejection.PermissionDenied),
            ("reclaim of a referenced value block without its key", Reclaim(value.Address, []), BlockRejection.PermissionDenied),
            ("reclaim with a guessed key", Reclaim(value.Address, ReclaimKeys.NewKey()), BlockRejection.PermissionDenied),
            ("entry pointing at a tampered inline block", Write(inlineKey, inline.Address, tamperedInline), BlockRejection.PermissionDenied),
            ("entry pointing at a mutable address", Write(key, okb.Address), BlockRejection.InvalidArgument),
        };
        foreach (var (what, command, kind) in forged)
        {
            var applied = await cluster.WriteAsync(command, what);
            var refused = Assert.IsType<ShardResult.Refused>(applied.Result);
            Assert.Equal(kind, refused.Kind);
            output.WriteLine($"{what}: refused at index {applied.Index.Value}: {refused.Reason}");
        }

        // A validly signed update that skips a version is a conflict answered with the stored block: no change either.
        var skipping = await cluster.WriteAsync(Update(Resealed(okb, version: 5)), "update skipping a version");
        Assert.Equal(okb, Assert.IsType<ShardResult.BlockConflict>(skipping.Result).Current);

        // Commands for another shard's records, or in another format, never enter the log.
        var elsewhere = InShard(() => BlockFactory.MakeImmutable("elsewhere"u8, _owner.PublicKey), shard: 2);
        var leader = await cluster.LeaderAsync("leader for misdirected commands");
        var misdirected = await leader.ProposeAsync(Insert(elsewhere));
        Assert.Contains("shard 2", Assert.IsType<ShardGroupOutcome.Invalid>(misdirected).Reason);
        var otherKey = KeyInShard("other", shard: 3);
        Assert.IsType<ShardGroupOutcome.Invalid>(await leader.ProposeAsync(Write(otherKey, value.Address)));
        var newer = Insert(value);
        newer.Format = ShardStateMachine.Format + 1;
        Assert.IsType<ShardGroupOutcome.Invalid>(await leader.ProposeAsync(newer));

        // Phase 3: every replica applied every forged entry and holds exactly what it held before.
        await cluster.CaughtUpAsync("forged entries applied", Three);
        var dumps = await Task.WhenAll(Three.Select(i => DumpAsync(cluster.Nodes[N(i)].Silo)));
        Assert.All(dumps, dump => Assert.Equal(before, dump));

        // The honest owner can still do what the forgers could not.
        Assert.IsType<ShardResult.BlockStored>((await cluster.WriteAsync(Update(BlockFactory.NextVersion(okb, "v1"u8, _owner)), "honest update")).Result);
        Assert.IsType<ShardResult.BlockRemoved>((await cluster.WriteAsync(Reclaim(value.Address, reclaimKey), "reclaim with the entry's key")).Result);
    }

    [Fact]
    public async Task A_recorded_removal_signature_replayed_after_the_named_block_is_created_again_is_refused()
    {
        await using var cluster = new ShardGroupTestCluster(output, seed: 1202, layout: Layout);
        await cluster.StartGroupAsync(Three);
        var name = NameInShard();
        var first = BlockFactory.MakeNamed(_owner, name, "first"u8);
        Assert.IsType<ShardResult.BlockStored>((await cluster.WriteAsync(Insert(first), "create the named block")).Result);

        // An observer records the owner's removal.
        var recorded = Delete(first.Address, BlockFactory.RemovalSignature(first, _owner));
        Assert.IsType<ShardResult.BlockRemoved>((await cluster.WriteAsync(recorded, "the owner removes it")).Result);

        var second = BlockFactory.MakeNamed(_owner, name, "second"u8);
        Assert.Equal(first.Address, second.Address);
        Assert.IsType<ShardResult.BlockStored>((await cluster.WriteAsync(Insert(second), "the owner creates it again")).Result);

        var replayed = await cluster.WriteAsync(recorded, "the observer replays the removal");
        Assert.Equal(BlockRejection.PermissionDenied, Assert.IsType<ShardResult.Refused>(replayed.Result).Kind);

        // Even byte-identical content signed again is a new creation.
        var removeSecond = Delete(second.Address, BlockFactory.RemovalSignature(second, _owner));
        Assert.IsType<ShardResult.BlockRemoved>((await cluster.WriteAsync(removeSecond, "the owner removes it again")).Result);
        var third = BlockFactory.MakeNamed(_owner, name, "second"u8);
        Assert.IsType<ShardResult.BlockStored>((await cluster.WriteAsync(Insert(third), "the owner creates the same content again")).Result);
        Assert.IsType<ShardResult.Refused>((await cluster.WriteAsync(removeSecond, "replay of the second removal")).Result);

        await cluster.CaughtUpAsync("all applied", Three);
        foreach (var id in Three)
        {
            var stored = await cluster.Nodes[N(id)].Silo.ReadBlockAsync(third.GetAddress());
            Assert.Equal(third, Block.Parser.ParseFrom(stored));
        }
    }

    private static Block InShard(Func<Block> make, int shard = 0)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var block = make();
            if (Layout.ShardOf(block.GetAddress()) == new ShardId(shard))
            {
                return block;
            }
        }
        throw new InvalidOperationException($"no block landed in shard {shard} in 1000 attempts");
    }

    private static string KeyInShard(string stem, int shard = 0) =>
        Enumerable.Range(0, 1000).Select(i => $"{stem}-{i}").First(k => Layout.ShardOf(k) == new ShardId(shard));

    private byte[] NameInShard() =>
        Enumerable.Range(0, 1000).Select(i => System.Text.Encoding.UTF8.GetBytes($"root-{i}"))
            .First(n => Layout.ShardOf(BlockAddresses.Named(_owner.PublicKey.Spki.Span, n)) == new ShardId(0));

    private Block Resealed(Block block, long version)
    {
        var copy = block.Clone();
        copy.Version = version;
        BlockFactory.Seal(copy, _owner);
        return copy;
    }

    private static ShardCommand Insert(Block block) => new() { Format = ShardStateMachine.Format, InsertBlock = new InsertBlock { Block = block } };

    private static ShardCommand Update(Block block) => new() { Format = ShardStateMachine.Format, UpdateBlock = new UpdateBlock { Block = block } };

    private static ShardCommand Delete(ByteString address, byte[] signature) =>
        new() { Format = ShardStateMachine.Format, DeleteBlock = new DeleteBlock { Address = address, Signature = ByteString.CopyFrom(signature) } };

    private static ShardCommand Reclaim(ByteString address, byte[] reclaimKey) =>
        new() { Format = ShardStateMachine.Format, ReclaimBlock = new ReclaimBlock { Address = address, ReclaimKey = ByteString.CopyFrom(reclaimKey) } };

    private static ShardCommand Write(string key, ByteString valueAddress, Block? inline = null, byte[]? reclaimKey = null)
    {
        var write = new WriteEntry { Key = key, Mode = WriteMode.Upsert, ValueAddress = valueAddress, ReclaimKey = ByteString.CopyFrom(reclaimKey ?? []) };
        if (inline is not null)
        {
            write.ValueBlock = inline;
        }
        return new ShardCommand { Format = ShardStateMachine.Format, WriteEntry = write };
    }
}
