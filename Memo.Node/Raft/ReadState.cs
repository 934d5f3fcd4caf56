namespace Memo.Node.Raft;

/// <summary>
/// A confirmed ReadIndex request: once the application has applied up to <see cref="Index"/>, a read issued
/// when the request was made may be served from local state and be linearizable.
/// </summary>
public sealed record ReadState(LogIndex Index, byte[] Context);
