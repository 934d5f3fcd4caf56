namespace Memo.Protocol.Blocks;

/// <summary>Verdict of <see cref="BlockValidator"/>. Explicit values: the outcome may be logged or persisted.</summary>
public enum BlockCheckOutcome
{
    /// <summary>Well-formed, and its address and signature match its content.</summary>
    Valid = 0,

    /// <summary>Structurally wrong (unknown type, wrong sizes, missing or stray fields, unparsable key): gRPC INVALID_ARGUMENT.</summary>
    Malformed = 1,

    /// <summary>Well-formed but its address or signature does not match its content: gRPC PERMISSION_DENIED.</summary>
    Forged = 2,
}
