namespace Memo.Node.Transport;

/// <summary>
/// The state of the outbound link to one peer, as the admin "cluster show" reports it.
/// </summary>
/// <remarks>
/// <code>
///            first message              hello answered
///   Idle ─────────────────► Connecting ───────────────► Connected
///    ▲                        │    ▲                       │
///    │      backoff elapsed   │    │ (next message)        │ stream broke
///    └───── Unreachable ◄─────┘    └──────── Idle ◄────────┘
///           (connect failed or refused: messages are dropped until the backoff elapses)
/// </code>
/// Values are reported to operators; they are fixed.
/// </remarks>
public enum PeerLinkState
{
    /// <summary>No stream open and nothing waiting to be sent; the next message opens one.</summary>
    Idle = 0,

    /// <summary>A stream is being opened (TCP connect, HTTP/2, hello exchange); messages queue meanwhile.</summary>
    Connecting = 1,

    /// <summary>The stream is up and the peer answered the hello; messages flow.</summary>
    Connected = 2,

    /// <summary>The last attempt failed or the peer refused the link; messages are dropped (and counted) until the next attempt.</summary>
    Unreachable = 3,
}
