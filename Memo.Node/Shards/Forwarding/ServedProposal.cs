using Memo.Node.Shards.Wire;

namespace Memo.Node.Shards.Forwarding;

/// <summary>The two replies of an async write served by this node (<see cref="IForwardedCallHandler.ServeProposeAcknowledgedAtAppend"/>).</summary>
/// <param name="Appended">APPENDED once the leader's log holds the command durably, or the final reply when that comes first.</param>
/// <param name="Final">The reply once the command is committed and applied (or refused, superseded, unknown).</param>
public readonly record struct ServedProposal(Task<ProposeReply> Appended, Task<ProposeReply> Final);
