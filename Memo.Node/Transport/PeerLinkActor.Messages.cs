namespace Memo.Node.Transport;

internal sealed partial class PeerLinkActor
{
    /// <summary>Sent by <see cref="AkkaPeerLink.Send"/> (at most one pending) and by the actor to itself: the queue has messages.</summary>
    public sealed record Wake
    {
        public static readonly Wake Instance = new();

        private Wake()
        {
        }
    }

    /// <summary>The hello of attempt <paramref name="Attempt"/> went unanswered for <see cref="PeerTransportOptions.ConnectTimeout"/>.</summary>
    public sealed record HelloTimeout(int Attempt);

    /// <summary>The backoff after a failed attempt elapsed: the next message may try again.</summary>
    public sealed record BackoffElapsed
    {
        public static readonly BackoffElapsed Instance = new();

        private BackoffElapsed()
        {
        }
    }

    /// <summary>Akka's gate on the peer's address (<c>akka.remote.retry-gate-closed-for</c>) has opened: a hello can get through.</summary>
    public sealed record GateOpened
    {
        public static readonly GateOpened Instance = new();

        private GateOpened()
        {
        }
    }

    /// <summary>
    /// The node at <paramref name="Address"/> told this node it belongs to another network (its inbox saw an
    /// association from a system of another name; see <see cref="PeerInboxActor"/>).
    /// </summary>
    public sealed record Refused(string Address, string Error);
}
