namespace Memo.Node.Cluster;

/// <summary>A membership state broke one of its invariants: a bug in the caller, or a corrupt or forged state that
/// was not checked with <see cref="MembershipState.TryRestore"/> before use.</summary>
public sealed class MembershipStateException(string message) : Exception(message);
