namespace Memo.Node.Blocks;

/// <summary>Why a write was refused; maps to the gRPC status the API returns. Explicit values: may be persisted in Raft results.</summary>
public enum BlockRejection
{
    /// <summary>The request is wrong for this block whoever sends it (gRPC INVALID_ARGUMENT).</summary>
    InvalidArgument = 1,

    /// <summary>The writer has not proved the right to do this (gRPC PERMISSION_DENIED).</summary>
    PermissionDenied = 2,
}
