using Google.Protobuf;
using Grpc.Core;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// The <c>memo.peer</c> envelope (Protos/memo_peer.proto): hellos, and the mapping between
/// <see cref="PeerMessage"/> and <see cref="PeerFrame"/>. Checks return their verdict as a value; the
/// callers decide whether it ends a call or drops a frame.
/// </summary>
internal static class PeerWire
{
    /// <summary>The envelope format this version writes and accepts.</summary>
    public const uint Format = 1;

    /// <summary>Longest network id, in characters.</summary>
    public const int MaxNetworkIdLength = 128;

    /// <summary>Longest advertised address, in characters.</summary>
    public const int MaxAddressLength = 256;

    public static PeerBatch Hello(NodeId node, string address, string networkId) => new()
    {
        Format = Format,
        FromNode = node.Value,
        Hello = new PeerHello { Node = node.Value, Address = address, NetworkId = networkId },
    };

    /// <summary>
    /// Checks the first message of a link direction. <paramref name="expected"/> is the node the dialling side
    /// meant to reach (<see cref="NodeId.None"/> on the accepting side, which takes whoever proves a hello).
    /// </summary>
    public static HelloCheck CheckHello(PeerBatch first, NodeId local, string localNetworkId, NodeId expected)
    {
        if (first.Format != Format)
        {
            return HelloCheck.Refuse(StatusCode.FailedPrecondition,
                $"unsupported peer envelope format {first.Format}; node {local} speaks format {Format}");
        }
        if (first.Hello is not { } hello)
        {
            return HelloCheck.Refuse(StatusCode.InvalidArgument, "the first message of a peer link must carry a hello");
        }
        var node = new NodeId(hello.Node);
        if (node.IsNone || first.FromNode != hello.Node)
        {
            return HelloCheck.Refuse(StatusCode.InvalidArgument,
                $"the hello names node {node} but the batch comes from {new NodeId(first.FromNode)}; neither may be 0");
        }
        if (hello.Address.Length > MaxAddressLength || hello.NetworkId.Length > MaxNetworkIdLength)
        {
            return HelloCheck.Refuse(StatusCode.InvalidArgument,
                $"the hello's address or network id is too long (limits {MaxAddressLength} and {MaxNetworkIdLength} characters)");
        }
        if (!string.Equals(hello.NetworkId, localNetworkId, StringComparison.Ordinal))
        {
            return HelloCheck.Refuse(StatusCode.FailedPrecondition,
                $"network id mismatch: node {local} is in network '{localNetworkId}', node {node} at {hello.Address} is in network '{hello.NetworkId}'");
        }
        if (node == local)
        {
            return HelloCheck.Refuse(StatusCode.FailedPrecondition, $"node {local} cannot link to itself (check the address {hello.Address})");
        }
        if (!expected.IsNone && node != expected)
        {
            return HelloCheck.Refuse(StatusCode.FailedPrecondition,
                $"the peer at {hello.Address} is node {node}, not the expected node {expected}");
        }
        if (first.Frames.Count > 0)
        {
            return HelloCheck.Refuse(StatusCode.InvalidArgument, "a hello batch cannot carry frames");
        }
        return new HelloCheck(StatusCode.OK, null, node, hello.Address);
    }

    /// <summary>Checks a batch after the hello: same format, same sender, no second hello.</summary>
    public static string? CheckBatch(PeerBatch batch, NodeId peer)
    {
        if (batch.Format != Format)
        {
            return $"node {peer} switched to envelope format {batch.Format} mid-link (expected {Format})";
        }
        if (batch.FromNode != peer.Value)
        {
            return $"a batch on node {peer}'s link claims to come from {new NodeId(batch.FromNode)}";
        }
        if (batch.Hello is not null)
        {
            return $"node {peer} sent a second hello on one link";
        }
        return null;
    }

    public static PeerFrame ToFrame(in PeerMessage message)
    {
        var frame = new PeerFrame
        {
            Kind = (uint)message.Channel,
            // The body was handed over by Send and is not modified afterwards (IPeerTransport.Send's contract).
            Body = UnsafeByteOperations.UnsafeWrap(message.Body),
        };
        if (message.Shard is { } shard)
        {
            frame.Shard = shard.Value;
        }
        return frame;
    }

    /// <summary>Reads a received frame; false when it is malformed and must be dropped.</summary>
    public static bool TryFromFrame(PeerFrame frame, int maxBodyBytes, out PeerMessage message)
    {
        message = default;
        if (frame.Kind is not ((uint)PeerChannelKind.Raft or (uint)PeerChannelKind.Forwarding)
            || (frame.HasShard && frame.Shard < 0)
            || frame.Body.Length > maxBodyBytes)
        {
            return false;
        }
        // ByteString is immutable and owned by this frame alone, so its memory can be handed out as is.
        message = new PeerMessage((PeerChannelKind)frame.Kind, frame.HasShard ? new ShardId(frame.Shard) : null, frame.Body.Memory);
        return true;
    }
}
