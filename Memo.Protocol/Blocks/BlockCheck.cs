namespace Memo.Protocol.Blocks;

/// <summary>Result of validating a block: the outcome and, unless valid, a human-readable reason for the error status.</summary>
public readonly record struct BlockCheck(BlockCheckOutcome Outcome, string? Reason)
{
    /// <summary>The block passed every check.</summary>
    public static BlockCheck Valid => new(BlockCheckOutcome.Valid, null);

    /// <summary>True when the outcome is <see cref="BlockCheckOutcome.Valid"/>.</summary>
    public bool IsValid => Outcome == BlockCheckOutcome.Valid;

    /// <summary>A structural failure (gRPC INVALID_ARGUMENT).</summary>
    public static BlockCheck Malformed(string reason) => new(BlockCheckOutcome.Malformed, reason);

    /// <summary>A content/address or signature mismatch (gRPC PERMISSION_DENIED).</summary>
    public static BlockCheck Forged(string reason) => new(BlockCheckOutcome.Forged, reason);

    /// <inheritdoc />
    public override string ToString() => Reason is null ? Outcome.ToString() : $"{Outcome}: {Reason}";
}
