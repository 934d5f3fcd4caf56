using System.Collections.Immutable;
using Akka.Actor;
using Grpc.Core;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;

namespace Memo.Client.Akka;

/// <summary>
/// A Memo client for Akka.NET apps: an actor, created in the app's own ActorSystem, that answers the requests of
/// <c>MemoClientMessages.cs</c> (<see cref="Put"/>, <see cref="Get"/>, <see cref="Delete"/>, <see cref="List"/> and
/// the block operations) through one <see cref="MemoClient"/> on the node's public gRPC API.
/// </summary>
/// <remarks>
/// <para><b>Model.</b> Each request starts one <see cref="MemoClient"/> call; the call's outcome is piped back to this
/// actor as a message and forwarded to the request's sender, captured when the request arrived. No handler awaits,
/// so requests keep arriving while calls are open, and the count of open calls is state only this actor touches.</para>
/// <para><b>Invariants.</b> Every request is answered exactly once, by its own reply type or by
/// <see cref="MemoFailure"/>: expected outcomes (a missing key, an existing key, a version conflict) are values in
/// the reply, every fault is a <see cref="MemoFailure"/> carrying the gRPC status, and no handler throws, so the
/// actor never restarts because of a call. At most <see cref="MemoClientActorSettings.MaxInFlight"/> calls are open.
/// A stopping actor cancels its open calls and answers them with <see cref="MemoFailure"/> Cancelled.</para>
/// <para><b>Behaviours.</b></para>
/// <code>
///   Ready --(a call starts and MaxInFlight calls are open)--> Saturated
///   Saturated --(a call completes)--> Ready
/// </code>
/// <para>Nothing here is remoting-specific: the messages are plain records for senders in the same ActorSystem, and
/// the node is reached only through gRPC, so the app's cluster and serializers never see Memo's types.</para>
/// </remarks>
public sealed class MemoClientActor : ReceiveActor
{
    private readonly MemoClientActorSettings _settings;
    private readonly MemoClient _client;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<long, OpenCall> _open = [];
    private long _nextCallId;
    private bool _saturated;

    /// <summary>Creates the actor; use <see cref="Props"/>, which checks the settings first.</summary>
    public MemoClientActor(MemoClientActorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _client = new MemoClient(settings.Target, settings.ClientOptions());
        Ready();
    }

    /// <summary>
    /// The props of a client actor for <paramref name="settings"/>; create it with
    /// <c>system.ActorOf(MemoClientActor.Props(settings), "memo")</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The settings are invalid; the message lists every problem.</exception>
    public static Props Props(MemoClientActorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid Memo client actor settings: " + string.Join(" ", errors), nameof(settings));
        }
        return global::Akka.Actor.Props.Create(() => new MemoClientActor(settings));
    }

    // Below the bound: every request starts a call.
    private void Ready()
    {
        Receive<IMemoRequest>(Start);
        Receive<CallCompleted>(Complete);
    }

    // At the bound: requests are refused at once rather than stashed. A stash would hold an unbounded number of
    // requests (and their values) inside this actor, out of reach of their deadlines, and hide the overload from the
    // senders; an immediate ResourceExhausted is the back-pressure signal a gRPC server gives too, and leaves the
    // sender to choose whether to wait, retry or shed the work.
    private void Saturated()
    {
        Receive<IMemoRequest>(request => Sender.Tell(new MemoFailure(
            GrpcStatusCode.ResourceExhausted,
            $"The Memo client actor already has {_open.Count} calls in flight (MaxInFlight); retry when some complete.",
            request)));
        Receive<CallCompleted>(Complete);
    }

    private void Start(IMemoRequest request)
    {
        var callId = _nextCallId++;
        _open.Add(callId, new OpenCall(Sender, request));
        Task<IMemoReply> call;
        try
        {
            call = Call(_client, request, _stopping.Token);
        }
        catch (Exception e)
        {
            // The calls are async methods, so faults normally arrive through the task; this guards the switch itself.
            call = Task.FromException<IMemoReply>(e);
        }
        call.PipeTo(Self, success: reply => new CallCompleted(callId, reply), failure: e => new CallCompleted(callId, Failure(e, request)));
        if (_open.Count >= _settings.MaxInFlight)
        {
            _saturated = true;
            Become(Saturated);
        }
    }

    private void Complete(CallCompleted completed)
    {
        if (!_open.Remove(completed.CallId, out var call))
        {
            return;
        }
        // The slot is free before the sender sees the answer, so a sender that waits for its replies before sending
        // more is never refused by calls it has already seen complete.
        call.ReplyTo.Tell(completed.Reply, Self);
        if (_saturated)
        {
            _saturated = false;
            Become(Ready);
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _stopping.Cancel();
        foreach (var call in _open.Values)
        {
            call.ReplyTo.Tell(new MemoFailure(GrpcStatusCode.Cancelled, "The Memo client actor stopped before the call completed.", call.Request), ActorRefs.NoSender);
        }
        _open.Clear();
        _client.Dispose();
        _stopping.Dispose();
        base.PostStop();
    }

    // Starts the MemoClient call for a request. Each arm runs synchronously up to the call's start (copying the
    // request's buffers into the gRPC message on this actor's thread) and returns the call's task.
    private static Task<IMemoReply> Call(MemoClient client, IMemoRequest request, CancellationToken cancellationToken) => request switch
    {
        Put put => PutAsync(client, put, cancellationToken),
        Get get => GetAsync(client, get, cancellationToken),
        Delete delete => DeleteAsync(client, delete, cancellationToken),
        List list => ListAsync(client, list, cancellationToken),
        InsertImmutableBlock insert => InsertImmutableBlockAsync(client, insert, cancellationToken),
        InsertMutableBlock insert => InsertMutableBlockAsync(client, insert, cancellationToken),
        FetchBlock fetch => FetchBlockAsync(client, fetch, cancellationToken),
        UpdateBlock update => UpdateBlockAsync(client, update, cancellationToken),
        DeleteBlock delete => DeleteBlockAsync(client, delete, cancellationToken),
        _ => Task.FromException<IMemoReply>(new NotSupportedException($"{request.GetType().Name} is not a request the Memo client actor knows.")),
    };

    private static async Task<IMemoReply> PutAsync(MemoClient client, Put put, CancellationToken cancellationToken)
    {
        if (put.Consistency == WriteConsistencyLevel.Async && put.Mode != PutMode.Upsert)
        {
            throw new ArgumentException($"Write consistency async applies to upserts only; a {put.Mode.ToString().ToLowerInvariant()} answers at the majority commit.", nameof(put));
        }
        switch (put.Mode)
        {
            case PutMode.Upsert:
                await client.UpsertAsync(put.Key, put.Value, put.Consistency, cancellationToken).ConfigureAwait(false);
                return new PutReply(put.Key, PutOutcome.Stored, put.CorrelationId);
            case PutMode.Insert:
                var inserted = await client.InsertAsync(put.Key, put.Value, cancellationToken).ConfigureAwait(false);
                return new PutReply(put.Key, inserted ? PutOutcome.Stored : PutOutcome.AlreadyExists, put.CorrelationId);
            case PutMode.Update:
                var updated = await client.UpdateAsync(put.Key, put.Value, cancellationToken).ConfigureAwait(false);
                return new PutReply(put.Key, updated ? PutOutcome.Stored : PutOutcome.NotFound, put.CorrelationId);
            default:
                throw new ArgumentException($"Unknown put mode {put.Mode}.", nameof(put));
        }
    }

    private static async Task<IMemoReply> GetAsync(MemoClient client, Get get, CancellationToken cancellationToken)
    {
        var value = await client.FetchAsync(get.Key, cancellationToken).ConfigureAwait(false);
        // Typed explicitly: `value is null ? null : value` would turn a missing value into an empty one, since null
        // converts to ReadOnlyMemory<byte> (through byte[]) before it could become a null Nullable.
        ReadOnlyMemory<byte>? found = value is null ? null : (ReadOnlyMemory<byte>?)value;
        return new GetReply(get.Key, found, get.CorrelationId);
    }

    private static async Task<IMemoReply> DeleteAsync(MemoClient client, Delete delete, CancellationToken cancellationToken)
    {
        var deleted = await client.DeleteAsync(delete.Key, cancellationToken).ConfigureAwait(false);
        return new DeleteReply(delete.Key, deleted, delete.CorrelationId);
    }

    private static async Task<IMemoReply> ListAsync(MemoClient client, List list, CancellationToken cancellationToken)
    {
        var page = await client.ListAsync(list.Prefix, list.Marker, list.Delimiter, list.MaxKeys, cancellationToken).ConfigureAwait(false);
        return new ListReply(
            page.Items.Select(item => item.Key).ToImmutableArray(),
            page.Prefixes.ToImmutableArray(),
            page.Truncated,
            list.CorrelationId);
    }

    private static async Task<IMemoReply> InsertImmutableBlockAsync(MemoClient client, InsertImmutableBlock insert, CancellationToken cancellationToken)
    {
        var address = await client.InsertImmutableBlockAsync(insert.Data, cancellationToken).ConfigureAwait(false);
        return new InsertImmutableBlockReply(address, insert.CorrelationId);
    }

    private static async Task<IMemoReply> InsertMutableBlockAsync(MemoClient client, InsertMutableBlock insert, CancellationToken cancellationToken)
    {
        var address = await client.InsertMutableBlockAsync(insert.Data, cancellationToken).ConfigureAwait(false);
        return new InsertMutableBlockReply(address, insert.CorrelationId);
    }

    private static async Task<IMemoReply> FetchBlockAsync(MemoClient client, FetchBlock fetch, CancellationToken cancellationToken)
    {
        var block = await client.FetchBlockAsync(fetch.Address, cancellationToken).ConfigureAwait(false);
        return new FetchBlockReply(fetch.Address, block, fetch.CorrelationId);
    }

    private static async Task<IMemoReply> UpdateBlockAsync(MemoClient client, UpdateBlock update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update.Block, nameof(update));
        // Read before the call: a block whose address is malformed fails here as InvalidArgument.
        var address = BlockAddress.FromBytes(update.Block.Address.Span);
        var result = await client.UpdateBlockAsync(update.Block, cancellationToken).ConfigureAwait(false);
        return new UpdateBlockReply(address, result, update.CorrelationId);
    }

    private static async Task<IMemoReply> DeleteBlockAsync(MemoClient client, DeleteBlock delete, CancellationToken cancellationToken)
    {
        var deleted = await client.DeleteBlockAsync(delete.Address, delete.RemovalSignature, cancellationToken).ConfigureAwait(false);
        return new DeleteBlockReply(delete.Address, deleted, delete.CorrelationId);
    }

    // Faults become statuses the way MemoClient reports them; the rest are a request the client refused before
    // sending (InvalidArgument) or a bug here (Internal), still answered rather than thrown.
    private static MemoFailure Failure(Exception exception, IMemoRequest request) => exception switch
    {
        AggregateException { InnerExceptions.Count: 1 } aggregate => Failure(aggregate.InnerExceptions[0], request),
        GrpcException e => new MemoFailure(e.Status, e.Message, request),
        RpcException e => Failure(e.ToGrpcException(), request),
        OperationCanceledException => new MemoFailure(GrpcStatusCode.Cancelled, "The call was cancelled.", request),
        NotSupportedException => new MemoFailure(GrpcStatusCode.Unimplemented, exception.Message, request),
        ArgumentException or FormatException => new MemoFailure(GrpcStatusCode.InvalidArgument, exception.Message, request),
        _ => new MemoFailure(GrpcStatusCode.Internal, $"{exception.GetType().Name}: {exception.Message}", request),
    };

    private readonly record struct OpenCall(IActorRef ReplyTo, IMemoRequest Request);
}
