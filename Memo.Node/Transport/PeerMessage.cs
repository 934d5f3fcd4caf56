namespace Memo.Node.Transport;

/// <summary>
/// One message between nodes. The transport never looks inside <see cref="Body"/>: Raft and forwarding encode
/// their own messages and only need the channel (and, for Raft, the shard) to route the bytes on arrival.
/// </summary>
/// <remarks>
/// The transport keeps a reference to <see cref="Body"/> until the message is written to the link, so the
/// sender must not modify the bytes after <see cref="IPeerTransport.Send"/>. A received body is the
/// receiver's own (never shared with another message); it stays valid for as long as it is referenced.
/// </remarks>
public readonly struct PeerMessage
{
    /// <summary>Creates a message.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The kind is not a defined <see cref="PeerChannelKind"/> or the shard is negative.</exception>
    public PeerMessage(PeerChannelKind channel, ShardId? shard, ReadOnlyMemory<byte> body)
    {
        if (!Enum.IsDefined(channel))
        {
            throw new ArgumentOutOfRangeException(nameof(channel), channel, "Unknown peer channel kind.");
        }
        if (shard is { Value: < 0 })
        {
            throw new ArgumentOutOfRangeException(nameof(shard), shard, "A shard id cannot be negative.");
        }
        Channel = channel;
        Shard = shard;
        Body = body;
    }

    /// <summary>The subsystem the message belongs to.</summary>
    public PeerChannelKind Channel { get; }

    /// <summary>The shard the message concerns; null for node-wide messages (forwarding).</summary>
    public ShardId? Shard { get; }

    /// <summary>The bytes the channel's owner encoded; may be empty.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>A Raft message for the group of <paramref name="shard"/>.</summary>
    public static PeerMessage Raft(ShardId shard, ReadOnlyMemory<byte> body) => new(PeerChannelKind.Raft, shard, body);

    /// <summary>A forwarded request or its reply (a <c>memo.shard.ForwardingEnvelope</c>).</summary>
    public static PeerMessage Forwarding(ReadOnlyMemory<byte> body) => new(PeerChannelKind.Forwarding, null, body);

    /// <inheritdoc />
    public override string ToString() =>
        Shard is { } shard ? $"{Channel}[shard {shard}] {Body.Length} B" : $"{Channel} {Body.Length} B";
}
