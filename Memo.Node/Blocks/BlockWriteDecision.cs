using Memo.Protocol.ValueStore;

namespace Memo.Node.Blocks;

/// <summary>
/// What a shard's state machine must do with a block write, as decided by <see cref="BlockWriteRules"/>.
/// Only <see cref="Store"/> and <see cref="Remove"/> change state; the others are answers to the writer.
/// </summary>
public abstract record BlockWriteDecision
{
    private BlockWriteDecision()
    {
    }

    /// <summary>Store the incoming block at its address (insert or replace).</summary>
    public sealed record Store : BlockWriteDecision;

    /// <summary>The identical immutable block is already stored: succeed without writing (idempotent insert).</summary>
    public sealed record AlreadyStored : BlockWriteDecision;

    /// <summary>Delete the stored block.</summary>
    public sealed record Remove : BlockWriteDecision;

    /// <summary>The update lost a version race; <paramref name="Current"/> is the block as stored now (UpdateResponse.current).</summary>
    public sealed record Conflict(Block Current) : BlockWriteDecision;

    /// <summary>No block at the address (gRPC NOT_FOUND).</summary>
    public sealed record NotFound : BlockWriteDecision;

    /// <summary>A different or mutable block is already at the address: insert never overwrites (gRPC ALREADY_EXISTS).</summary>
    public sealed record AlreadyExists : BlockWriteDecision;

    /// <summary>The write is refused; <paramref name="Reason"/> is for the error status message.</summary>
    public sealed record Rejected(BlockRejection Kind, string Reason) : BlockWriteDecision;

    /// <summary>True when the decision changes stored state (<see cref="Store"/> or <see cref="Remove"/>).</summary>
    public bool ChangesState => this is Store or Remove;

    /// <summary>True when the writer gets a success answer (<see cref="Store"/>, <see cref="AlreadyStored"/> or <see cref="Remove"/>).</summary>
    public bool IsSuccess => this is Store or AlreadyStored or Remove;
}
