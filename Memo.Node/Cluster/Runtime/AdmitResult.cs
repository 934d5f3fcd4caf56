using Memo.Protocol.Cluster;

namespace Memo.Node.Cluster.Runtime;

/// <summary>The answer to <see cref="ClusterNode.AdmitAsync"/>: the outcome, a message when refused, and the response
/// to send back when admitted.</summary>
public sealed record AdmitResult(AdmitOutcome Outcome, string? Message, AdmitMemberResponse? Response);
