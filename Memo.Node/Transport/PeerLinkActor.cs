using Akka.Actor;
using Akka.Remote;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// This node's outbound link to one peer on Akka.Remote: proves who answers at the peer's address with a hello,
/// then drains the link's queue into one <see cref="PeerBatch"/> per turn and tells it to the peer's inbox.
/// </summary>
/// <remarks>
/// <code>
///              queue not empty           hello answered by the expected node
///     Idle ─────────────────────► Connecting ──────────────────────────────► Connected ──► one batch per Wake
///      ▲  ▲                          │                                        │     │
///      │  │ backoff elapsed          │ no answer in ConnectTimeout,           │     │ association ended or failed,
///      │  │ (≥ Akka's gate after an  │ association error, wrong node,         │     │ address quarantined
///      │  │  association error)      │ another network                        │     ▼
///      │  └──────── Unreachable ◄────┘                                        │   WaitingForGate (messages queue;
///      │      (sends dropped)                                                 │     │ reported as Connecting)
///      │                                   the peer moved, or a refusal       │     │ retry-gate-closed-for elapsed
///      └──────────────────────────────────────────────────────────────────────┴─────┘ (queue not empty: hello at once)
/// </code>
/// <para>Why a hello although the association is the link: Akka delivers a message to whatever system of the
/// same name answers at <c>host:port</c>, so only an answer from the inbox there says which node it is (the
/// address may now belong to another node) and that it runs a Memo transport.</para>
/// <para>Why no DeathWatch on the peer's inbox: with plain remoting, a remote watch makes Akka's RemoteWatcher
/// quarantine the whole system pair after <c>watch-failure-detector.acceptable-heartbeat-pause</c> (10 s) of
/// silence, which would turn a short partition into a permanent one (a quarantined pair never talks again until one
/// side restarts). The link follows the association's lifecycle events instead, which have no side effects:
/// <see cref="DisassociatedEvent"/> and <see cref="AssociationErrorEvent"/> (the peer stopped or crashed, or the
/// transport failure detector gave up) and <see cref="QuarantinedEvent"/> (something else quarantined it) send the
/// link back to Idle, and the next message says hello again, to whatever now runs there.</para>
/// <para>Batches go to the inbox's path without an incarnation uid, so a peer restarted at the same address is
/// reached as soon as Akka re-associates.</para>
/// <para>Batching: <see cref="AkkaPeerLink.Send"/> enqueues and sends at most one <see cref="Wake"/> per burst; each
/// Wake drains up to <see cref="PeerTransportOptions.MaxBatchMessages"/> messages and
/// <see cref="PeerTransportOptions.MaxBatchBytes"/> of body into one batch and, if more is queued, wakes itself
/// again behind whatever else is in the mailbox. Everything queued while the Wake waited for a thread leaves together,
/// so a busy link amortises and an idle one sends at once, with no timer.</para>
/// </remarks>
internal sealed partial class PeerLinkActor : ReceiveActor, IWithTimers
{
    private const string HelloTimerKey = "hello";
    private const string BackoffTimerKey = "backoff";
    private const string GateTimerKey = "gate";

    private readonly AkkaPeerLink _link;
    private readonly AkkaPeerTransport _transport;
    private readonly PeerTransportOptions _options;

    // The attempt or connection in progress.
    private string? _targetAddress;
    private Address? _target;
    private IActorRef? _inbox;
    private int _attempt;
    private int _failures;

    // The last refusal from the current address: more telling than a later "no answer" from it (a node of another
    // network answers only the first association with a refusal).
    private string? _refusal;
    private string? _refusalAddress;
    // The peer's key for this node's batches, from its hello answer (PeerHello.link_key); refreshed when it sends it again.
    private Google.Protobuf.ByteString _linkKey = Google.Protobuf.ByteString.Empty;

    public PeerLinkActor(AkkaPeerLink link, AkkaPeerTransport transport)
    {
        _link = link;
        _transport = transport;
        _options = transport.Options;
        Idle();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(AkkaPeerLink link, AkkaPeerTransport transport) =>
        Akka.Actor.Props.Create(() => new PeerLinkActor(link, transport));

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(AssociationErrorEvent));
        Context.System.EventStream.Subscribe(Self, typeof(DisassociatedEvent));
        Context.System.EventStream.Subscribe(Self, typeof(QuarantinedEvent));
        // After a restart (a bug), messages may be queued with a wake-up flag that no Wake in the mailbox will
        // clear: look at the queue once. At the first start this costs one empty look.
        _link.ClearWake();
        Self.Tell(Wake.Instance);
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _link.Route = null;
        _link.Counters.State = PeerLinkState.Idle;
    }

    private void Idle()
    {
        Receive<Wake>(_ =>
        {
            _link.ClearWake();
            if (_link.Queue.Count > 0)
            {
                StartHello();
            }
        });
        Receive<Refused>(OnRefusedWhileIdle);
        IgnoreTheRest();
    }

    private void Connecting()
    {
        // Messages queue meanwhile; the answer flushes them.
        Receive<Wake>(_ => _link.ClearWake());
        Receive<PeerBatch>(batch => batch.Hello is not null, OnHelloAnswer);
        Receive<HelloTimeout>(timeout => timeout.Attempt == _attempt, _ =>
            Fail(RefusalOf(_targetAddress) ?? $"no answer to the hello from {InboxPath(_target!)} within {_options.ConnectTimeout} (is a node of this network running there?)"));
        Receive<AssociationErrorEvent>(e => IsTarget(e.RemoteAddress), e =>
            Fail($"association with {e.RemoteAddress} failed: {Describe(e.Cause)}", gated: true));
        Receive<Refused>(r => string.Equals(r.Address, _targetAddress, StringComparison.Ordinal), r =>
        {
            Remember(r);
            Fail(r.Error);
        });
        Receive<Refused>(OnRefusedWhileIdle);
        IgnoreTheRest();
    }

    private void Connected()
    {
        Receive<Wake>(_ =>
        {
            _link.ClearWake();
            if (!string.Equals(_link.Address, _targetAddress, StringComparison.Ordinal))
            {
                Broken($"the peer moved from {_targetAddress} to {_link.Address}", quiet: true);
                return;
            }
            Flush();
        });
        // The peer sent its key again (it refused a batch: it restarted and derives other keys now).
        Receive<PeerBatch>(batch => batch.Hello is not null, batch =>
        {
            if (PeerWire.CheckHello(batch, _transport.LocalNode, _transport.NetworkId, _link.Peer).Accepted)
            {
                _linkKey = batch.Hello.LinkKey;
                _link.Route = new LinkRoute(_targetAddress!, _inbox!, Self, _linkKey);
            }
        });
        Receive<DisassociatedEvent>(e => IsTarget(e.RemoteAddress), e =>
            Broken($"the association with {e.RemoteAddress} ended", gated: true));
        Receive<AssociationErrorEvent>(e => IsTarget(e.RemoteAddress), e =>
            Broken($"the association with {e.RemoteAddress} failed: {Describe(e.Cause)}", gated: true));
        Receive<QuarantinedEvent>(e => IsTarget(e.Address), e =>
            Broken($"Akka quarantined {e.Address} (incarnation {e.Uid}): nothing reaches that incarnation until it restarts", gated: true));
        Receive<Refused>(r => string.Equals(r.Address, _targetAddress, StringComparison.Ordinal), r =>
        {
            Remember(r);
            Broken(r.Error);
        });
        Receive<Refused>(OnRefusedWhileIdle);
        IgnoreTheRest();
    }

    private void Unreachable()
    {
        // A Send that saw the state just before it changed may have queued: it waits for the next attempt.
        Receive<Wake>(_ => _link.ClearWake());
        Receive<BackoffElapsed>(_ =>
        {
            _link.Counters.TryMove(PeerLinkState.Unreachable, PeerLinkState.Idle);
            Become(Idle);
            if (_link.Queue.Count > 0)
            {
                StartHello();
            }
        });
        Receive<Refused>(r => string.Equals(r.Address, _targetAddress, StringComparison.Ordinal), r =>
        {
            Remember(r);
            _link.Counters.LastError = r.Error;
        });
        Receive<Refused>(OnRefusedWhileIdle);
        IgnoreTheRest();
    }

    /// <summary>
    /// The association just ended or failed, and Akka.Remote gates the address for <c>retry-gate-closed-for</c>:
    /// everything sent to it meanwhile is dropped unseen, a hello included. Messages queue until the gate opens.
    /// </summary>
    private void WaitingForGate()
    {
        Receive<Wake>(_ => _link.ClearWake());
        Receive<GateOpened>(_ =>
        {
            _link.Counters.State = PeerLinkState.Idle;
            Become(Idle);
            if (_link.Queue.Count > 0)
            {
                StartHello();
            }
        });
        Receive<Refused>(r => string.Equals(r.Address, _targetAddress, StringComparison.Ordinal), r =>
        {
            Timers.Cancel(GateTimerKey);
            Remember(r);
            Fail(r.Error);
        });
        Receive<Refused>(OnRefusedWhileIdle);
        IgnoreTheRest();
    }

    /// <summary>
    /// Late hello answers, timers of finished attempts and lifecycle events of other addresses: all expected, none
    /// meaningful in the current behaviour.
    /// </summary>
    private void IgnoreTheRest()
    {
        Receive<PeerBatch>(_ => { });
        Receive<HelloTimeout>(_ => { });
        Receive<BackoffElapsed>(_ => { });
        Receive<GateOpened>(_ => { });
        Receive<RemotingLifecycleEvent>(_ => { });
    }

    private void StartHello()
    {
        _link.Route = null;
        var address = _link.Address!;
        if (!_transport.TryParseAddress(address, out var target, out var error))
        {
            _targetAddress = address;
            Fail(error);
            return;
        }
        _targetAddress = address;
        _target = target;
        _inbox = _transport.ResolveInbox(target);
        _attempt++;
        _link.Counters.State = PeerLinkState.Connecting;
        _inbox.Tell(_transport.Hello(), Self);
        Timers.StartSingleTimer(HelloTimerKey, new HelloTimeout(_attempt), _options.ConnectTimeout);
        Become(Connecting);
    }

    private void OnHelloAnswer(PeerBatch answer)
    {
        if (!string.Equals(_link.Address, _targetAddress, StringComparison.Ordinal))
        {
            // The peer moved while we waited: say hello at the new address instead.
            Timers.Cancel(HelloTimerKey);
            StartHello();
            return;
        }
        var check = PeerWire.CheckHello(answer, _transport.LocalNode, _transport.NetworkId, _link.Peer);
        if (!check.Accepted)
        {
            Remember(new Refused(_targetAddress!, check.Error!));
            Fail(check.Error!);
            return;
        }
        Timers.Cancel(HelloTimerKey);
        _linkKey = answer.Hello.LinkKey;
        _failures = 0;
        _refusal = null;
        _link.Route = new LinkRoute(_targetAddress!, _inbox!, Self, _linkKey);
        _link.Counters.State = PeerLinkState.Connected;
        AkkaPeerTransport.LogLinkUp(_transport.Logger, _link.Peer, _targetAddress!);
        Become(Connected);
        Flush();
    }

    /// <summary>One batch: everything queued, up to the batch limits; wakes itself again if more is queued.</summary>
    private void Flush()
    {
        if (_link.Flush())
        {
            // Behind whatever else is in the mailbox (a lifecycle event, a refusal), not in a loop here.
            Self.Tell(Wake.Instance);
        }
    }

    /// <summary>
    /// The connection is gone; queued messages stay. If Akka gates the address (<paramref name="gated"/>), the next
    /// hello waits for the gate to open; otherwise the link says hello again at once if anything is queued.
    /// </summary>
    private void Broken(string reason, bool gated = false, bool quiet = false)
    {
        if (!quiet)
        {
            _link.Counters.LastError = reason;
            AkkaPeerTransport.LogLinkBroken(_transport.Logger, _link.Peer, _targetAddress!, reason);
        }
        _link.Route = null;
        // Answers to what was sent over the ended association will not come: callers waiting for them stop now.
        _link.Counters.EndConnection();
        if (gated)
        {
            // Connecting: nothing is open, and messages queue for the hello that follows the gate.
            _link.Counters.State = PeerLinkState.Connecting;
            Timers.StartSingleTimer(GateTimerKey, GateOpened.Instance, _transport.AssociationGate);
            Become(WaitingForGate);
            return;
        }
        _link.Counters.State = PeerLinkState.Idle;
        Become(Idle);
        if (_link.Queue.Count > 0)
        {
            StartHello();
        }
    }

    /// <summary>
    /// The attempt failed: drop what is queued, refuse sends until the backoff elapses; after an association failure
    /// (<paramref name="gated"/>) at least until Akka's gate on the address opens, or the next hello would vanish.
    /// </summary>
    private void Fail(string error, bool gated = false)
    {
        Timers.Cancel(HelloTimerKey);
        _link.Route = null;
        _attempt++;
        _link.Counters.LastError = error;
        // Unreachable before clearing: a Send that still saw Connecting may enqueue after the clear; that message
        // waits out the backoff and triggers the next attempt.
        _link.Counters.State = PeerLinkState.Unreachable;
        _link.Counters.AddDroppedUnreachable(_link.Queue.Clear());
        _link.Counters.EndConnection();
        _failures = Math.Min(_failures + 1, 1000);
        var backoff = Backoff(_failures);
        if (gated && backoff < _transport.AssociationGate)
        {
            backoff = _transport.AssociationGate;
        }
        if (_failures == 1)
        {
            AkkaPeerTransport.LogLinkFailed(_transport.Logger, _link.Peer, _targetAddress ?? "?", error, backoff);
        }
        else
        {
            AkkaPeerTransport.LogLinkFailedAgain(_transport.Logger, _link.Peer, _targetAddress ?? "?", _failures, error, backoff);
        }
        Timers.StartSingleTimer(BackoffTimerKey, BackoffElapsed.Instance, backoff);
        Become(Unreachable);
    }

    private void OnRefusedWhileIdle(Refused refused)
    {
        // A refusal for an address this link is not using right now: keep it for when it does.
        if (string.Equals(refused.Address, _link.Address, StringComparison.Ordinal))
        {
            Remember(refused);
            _link.Counters.LastError = refused.Error;
        }
    }

    private void Remember(Refused refused)
    {
        _refusal = refused.Error;
        _refusalAddress = refused.Address;
    }

    private string? RefusalOf(string? address) =>
        _refusal is not null && string.Equals(_refusalAddress, address, StringComparison.Ordinal) ? _refusal : null;

    // Protocols may differ by adapters (akka.tcp, akka.trttl.tcp); the system, host and port name the peer.
    private bool IsTarget(Address remote) =>
        _target is { } target
        && string.Equals(remote.System, target.System, StringComparison.Ordinal)
        && string.Equals(remote.Host, target.Host, StringComparison.OrdinalIgnoreCase)
        && remote.Port == target.Port;

    private TimeSpan Backoff(int failures) => _options.ReconnectBackoff(failures, _transport.NextJitter());

    private static string InboxPath(Address target) => $"{target}/user/{PeerInboxActor.Name}";

    private static string Describe(Exception? e)
    {
        // Akka wraps the transport's reason (connection refused, timeout) in one or two layers.
        var innermost = e;
        while (innermost?.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }
        return innermost is null ? "unknown cause" : innermost == e ? e.Message : $"{e!.Message} ({innermost.Message})";
    }
}
