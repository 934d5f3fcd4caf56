namespace Memo.Node.Cluster.Runtime;

/// <summary>The answer to an administrative request: its status, the member it concerned, and why when refused.</summary>
public sealed record ClusterCommandResult(ClusterCommandStatus Status, NodeId Node, string? Message)
{
    internal static ClusterCommandResult Done(NodeId node) => new(ClusterCommandStatus.Done, node, null);
}
