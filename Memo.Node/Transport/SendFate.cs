namespace Memo.Node.Transport;

/// <summary>What <see cref="InMemoryPeerNetwork"/> decided for a message at send time.</summary>
internal enum SendFate
{
    /// <summary>Queue it on the sender's link for delivery.</summary>
    Queue = 0,

    /// <summary>The link is cut or the peer cannot be reached: drop and count at the sender.</summary>
    Cut = 1,

    /// <summary>Lost by injected loss: gone without the sender knowing.</summary>
    Lost = 2,

    /// <summary>Held by an injected delay; the network queues it on the link when due.</summary>
    Held = 3,
}
