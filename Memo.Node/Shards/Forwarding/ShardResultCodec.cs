using Memo.Node.Blocks;
using Memo.Node.Shards.Wire;

namespace Memo.Node.Shards.Forwarding;

/// <summary>A <see cref="ShardResult"/> in and out of its wire form (<c>ShardResultMessage</c>, memo_shard.proto).</summary>
public static class ShardResultCodec
{
    /// <summary>The wire form of <paramref name="result"/>.</summary>
    public static ShardResultMessage Encode(ShardResult result) => result switch
    {
        ShardResult.BlockStored => new ShardResultMessage { Kind = ShardResultKind.BlockStored },
        ShardResult.BlockAlreadyStored => new ShardResultMessage { Kind = ShardResultKind.BlockAlreadyStored },
        ShardResult.BlockRemoved => new ShardResultMessage { Kind = ShardResultKind.BlockRemoved },
        ShardResult.BlockConflict c => new ShardResultMessage { Kind = ShardResultKind.BlockConflict, Current = c.Current },
        ShardResult.BlockMissing => new ShardResultMessage { Kind = ShardResultKind.BlockMissing },
        ShardResult.BlockExists => new ShardResultMessage { Kind = ShardResultKind.BlockExists },
        ShardResult.Refused r => new ShardResultMessage { Kind = ShardResultKind.BlockRefused, Rejection = (uint)r.Kind, Reason = r.Reason },
        ShardResult.EntryWritten w => WithPrevious(new ShardResultMessage { Kind = ShardResultKind.EntryWritten, CurrentEntry = w.Current }, w.Previous),
        ShardResult.EntryExists => new ShardResultMessage { Kind = ShardResultKind.EntryExists },
        ShardResult.EntryMissing => new ShardResultMessage { Kind = ShardResultKind.EntryMissing },
        ShardResult.EntryDeleted d => new ShardResultMessage { Kind = ShardResultKind.EntryDeleted, Previous = d.Previous },
        _ => throw new ArgumentException($"Unknown shard result {result.GetType().Name}.", nameof(result)),
    };

    /// <summary>The result a wire message carries; null when the message is malformed (a buggy or newer peer).</summary>
    public static ShardResult? Decode(ShardResultMessage? message) => message?.Kind switch
    {
        ShardResultKind.BlockStored => new ShardResult.BlockStored(),
        ShardResultKind.BlockAlreadyStored => new ShardResult.BlockAlreadyStored(),
        ShardResultKind.BlockRemoved => new ShardResult.BlockRemoved(),
        ShardResultKind.BlockConflict when message.Current is not null => new ShardResult.BlockConflict(message.Current),
        ShardResultKind.BlockMissing => new ShardResult.BlockMissing(),
        ShardResultKind.BlockExists => new ShardResult.BlockExists(),
        ShardResultKind.BlockRefused when message.Rejection is (uint)BlockRejection.InvalidArgument or (uint)BlockRejection.PermissionDenied =>
            new ShardResult.Refused((BlockRejection)message.Rejection, message.Reason),
        ShardResultKind.EntryWritten when message.CurrentEntry is not null => new ShardResult.EntryWritten(message.Previous, message.CurrentEntry),
        ShardResultKind.EntryExists => new ShardResult.EntryExists(),
        ShardResultKind.EntryMissing => new ShardResult.EntryMissing(),
        ShardResultKind.EntryDeleted when message.Previous is not null => new ShardResult.EntryDeleted(message.Previous),
        _ => null,
    };

    private static ShardResultMessage WithPrevious(ShardResultMessage message, KvEntry? previous)
    {
        if (previous is not null)
        {
            message.Previous = previous;
        }
        return message;
    }
}
