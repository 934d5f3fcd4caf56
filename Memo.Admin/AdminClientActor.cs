using Akka.Actor;
using Akka.Remote;
using Memo.Admin.Wire;

namespace Memo.Admin;

/// <summary>
/// The client side of the admin protocol, inside the client's ActorSystem: resolves the node's admin actor
/// (<see cref="Identify"/> through an <see cref="ActorSelection"/>), then forwards each <see cref="AdminRequest"/> to it
/// and hands the <see cref="AdminReply"/> with the same correlation id back to whoever asked.
/// </summary>
/// <remarks>
/// <para>It also follows remoting's <see cref="AssociationErrorEvent"/>s for the node's address, so a refused or broken
/// connection fails the waiting callers at once instead of at their time limit. The order is reliable: when an
/// association fails, Akka.Remote publishes the event before it drops the messages queued for it, and a dropped
/// <see cref="Identify"/> is answered by the dead-letter office with an empty <see cref="ActorIdentity"/>. Both land in
/// this actor's mailbox, the event first, so an empty identity seen while still <c>Identifying</c> really comes from the
/// node (it has no admin actor).</para>
/// <code>
///   Unresolved --Resolve--> Identifying --identity--> Resolved
///        ^                      |  \--empty identity--> Unresolved (the waiters learn there is no admin actor)
///        |                      \--association error--> Failed (terminal: every later message is answered with the failure)
///   Resolved --association error--> Failed
/// </code>
/// </remarks>
internal sealed class AdminClientActor : ReceiveActor, IWithTimers
{
    private readonly Address _target;
    private readonly string _path;
    private readonly TimeSpan _requestLifetime;
    private readonly List<IActorRef> _resolveWaiters = [];
    private readonly Dictionary<ulong, IActorRef> _pending = [];
    private IActorRef? _admin;

    /// <summary>Creates the actor for the admin actor at <paramref name="path"/>.</summary>
    /// <param name="path">The admin actor's full path (<see cref="AdminEndpoint.ActorPath"/>).</param>
    /// <param name="requestLifetime">How long a forwarded request waits for its reply before it is forgotten (the
    /// caller's own time limit ends its wait; this only bounds the table of pending requests).</param>
    public AdminClientActor(string path, TimeSpan requestLifetime)
    {
        _path = path;
        _target = ActorPath.Parse(path).Address;
        _requestLifetime = requestLifetime;
        Unresolved();
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for <see cref="AdminClientActor"/>.</summary>
    public static Props Props(string path, TimeSpan requestLifetime) =>
        Akka.Actor.Props.Create(() => new AdminClientActor(path, requestLifetime));

    /// <inheritdoc />
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(AssociationErrorEvent));

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void Unresolved()
    {
        Receive<ResolveAdmin>(_ =>
        {
            _resolveWaiters.Add(Sender);
            Context.ActorSelection(_path).Tell(new Identify(_path), Self);
            Become(Identifying);
        });
        Receive<AdminRequest>(_ => Sender.Tell(new AdminClientFailure("the admin actor is not resolved yet (ask ResolveAdmin first)", Unreachable: false)));
        Receive<AssociationErrorEvent>(e => OnAssociationError(e));
    }

    private void Identifying()
    {
        Receive<ResolveAdmin>(_ => _resolveWaiters.Add(Sender));
        Receive<AdminRequest>(_ => Sender.Tell(new AdminClientFailure("the admin actor is not resolved yet (ask ResolveAdmin first)", Unreachable: false)));
        Receive<ActorIdentity>(identity =>
        {
            if (identity.Subject is { } admin)
            {
                _admin = admin;
                ReplyToResolveWaiters(AdminResolved.Instance);
                Become(Resolved);
            }
            else
            {
                ReplyToResolveWaiters(new AdminClientFailure($"the node at {_target} answered, but it has no admin actor at /user/{AdminWire.ActorName}", Unreachable: true));
                Become(Unresolved);
            }
        });
        Receive<AssociationErrorEvent>(e => OnAssociationError(e));
    }

    private void Resolved()
    {
        Receive<ResolveAdmin>(_ => Sender.Tell(AdminResolved.Instance));
        Receive<AdminRequest>(request =>
        {
            if (!_pending.TryAdd(request.CorrelationId, Sender))
            {
                Sender.Tell(new AdminClientFailure($"correlation id {request.CorrelationId} is already waiting for a reply", Unreachable: false));
                return;
            }
            _admin!.Tell(request, Self);
            Timers.StartSingleTimer(request.CorrelationId, new ForgetRequest(request.CorrelationId), _requestLifetime);
        });
        Receive<AdminReply>(reply =>
        {
            // A reply nobody waits for any more (its caller gave up) is dropped.
            if (_pending.Remove(reply.CorrelationId, out var caller))
            {
                Timers.Cancel(reply.CorrelationId);
                caller.Tell(reply);
            }
        });
        Receive<ForgetRequest>(forget => _pending.Remove(forget.CorrelationId));
        Receive<AssociationErrorEvent>(e => OnAssociationError(e));
    }

    private void Failed(AdminClientFailure failure)
    {
        Receive<ResolveAdmin>(_ => Sender.Tell(failure));
        Receive<AdminRequest>(_ => Sender.Tell(failure));
        Receive<AdminReply>(_ => { });
        Receive<ForgetRequest>(_ => { });
        Receive<AssociationErrorEvent>(_ => { });
        Receive<ActorIdentity>(_ => { });
    }

    private void OnAssociationError(AssociationErrorEvent e)
    {
        if (!SameEndpoint(e.RemoteAddress, _target))
        {
            return;
        }
        var failure = new AdminClientFailure($"node {_target.Host}:{_target.Port} is not reachable over Akka remoting: {Describe(e.Cause)}", Unreachable: true);
        ReplyToResolveWaiters(failure);
        foreach (var caller in _pending.Values)
        {
            caller.Tell(failure);
        }
        _pending.Clear();
        Become(() => Failed(failure));
    }

    private void ReplyToResolveWaiters(object answer)
    {
        foreach (var waiter in _resolveWaiters)
        {
            waiter.Tell(answer);
        }
        _resolveWaiters.Clear();
    }

    private static bool SameEndpoint(Address a, Address b) =>
        a.Port == b.Port && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.System == b.System;

    // Akka wraps the socket error ("Connection refused tcp://memo@127.0.0.1:5091") in association exceptions; the
    // innermost message says what happened.
    private static string Describe(Exception? cause)
    {
        if (cause is null)
        {
            return "the association failed";
        }
        var inner = cause;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }
        var message = inner.Message.ReplaceLineEndings(" ").Trim().TrimEnd('.');
        if (message.Length == 0)
        {
            return inner.GetType().Name;
        }
        // A clause after a colon, as the CLI's other errors read ("connection refused"), unless it starts an acronym.
        return message.Length > 1 && char.IsUpper(message[0]) && !char.IsUpper(message[1]) ? char.ToLowerInvariant(message[0]) + message[1..] : message;
    }

    private sealed record ForgetRequest(ulong CorrelationId);
}
