using System.Collections.Concurrent;
using Google.Protobuf;
using Memo.Node.Metrics;
using Memo.Node.Shards.Wire;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Shards.Forwarding;

/// <summary>
/// Node-to-node calls over the peer links: forwards proposals, reads and status requests to another node and matches
/// its answers to the callers by correlation id; serves the requests other nodes forward here with the node's
/// <see cref="IForwardedCallHandler"/>.
/// </summary>
/// <remarks>
/// <para>Design note (docs/ARCHITECTURE.md, "Routing"). Each call is one <see cref="ForwardingEnvelope"/> told to the
/// node over <see cref="IPeerTransport"/> (<see cref="PeerChannelKind.Forwarding"/>, the same batched link as its Raft
/// traffic), and the answer is another envelope told back with the same <c>call</c> id. No Akka Ask (a temporary
/// actor per call, measured at twice gRPC's tail latency) and no second connection. The caller keeps one
/// <see cref="TaskCompletionSource{TResult}"/> per call in flight, removed when the answer comes, when the caller's
/// wait ends or it cancels, and when the forwarder stops; an answer that finds no pending call (late, or from another
/// node than the one asked) is dropped and counted.</para>
/// <para>The links are lossy and never say what they lost, except at the send: <see cref="IPeerTransport.Send"/>
/// returning false means the request never left (<see cref="ForwardedCallFate.NotSent"/>, safe to retry anywhere);
/// after that only an answer says anything, and its absence by the end of the wait, or the end of the connection it
/// left on (<see cref="IPeerTransport.ConnectionLost"/>: the peer died or its link failed), is
/// <see cref="ForwardedCallFate.NoAnswer"/> (the caller decides what that means for its request). Ending at the break
/// matters after a node is killed: a write forwarded to it while others still thought it led used to wait the whole
/// deadline before its caller heard "outcome unknown".</para>
/// <para>Serving never blocks the node's inbound pump: <see cref="Receive"/> starts the work and returns; the answer is
/// sent when the work completes. At most <see cref="ShardForwarderOptions.MaxServedConcurrently"/> requests are served at
/// once (beyond it DROPPED, which callers retry), each for at most the time its caller still waits. Malformed input
/// is counted and dropped, or answered INVALID when it carries a call id; nothing a peer sends throws out of
/// <see cref="Receive"/>.</para>
/// </remarks>
public sealed partial class ShardForwarder : IAsyncDisposable
{
    private const uint Format = 1;

    /// <summary>
    /// Largest part of a block copy sent in parts (<see cref="StoreCopyAsync"/>): with its envelope it stays within a
    /// peer batch of <c>PeerTransportOptions.MaxBatchBytes</c> (64 KiB) and, with Akka's framing, under .NET's
    /// 85,000-byte large-object threshold.
    /// </summary>
    public const int CopyPartBytes = 60 * 1024;

    private readonly IPeerTransport _transport;
    private readonly Func<NodeId, string?> _addressOf;
    private readonly ShardForwarderOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ulong, PendingCall> _pending = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CopyPartAssembler _copyParts;
    private IForwardedCallHandler? _handler;
    private long _nextCall;
    // Transfer ids of copies sent in parts: from a random start, so a restarted node's ids do not meet the transfers
    // its peers may still hold from its previous run.
    private long _nextTransfer = Random.Shared.NextInt64(1, long.MaxValue / 2);
    private int _serving;
    private int _disposed;
    private long _malformed;
    private long _unmatched;
    private long _refused;
    private long _unanswerable;

    /// <summary>Creates the forwarder; it serves nothing until <see cref="ServeWith"/> names the handler.</summary>
    /// <param name="transport">The node's peer transport (the caller feeds its <see cref="PeerChannelKind.Forwarding"/>
    /// messages to <see cref="Receive"/>).</param>
    /// <param name="addressOf">A node's address as the transport takes it (null when the node has none).</param>
    /// <param name="options">Limits.</param>
    /// <param name="logger">Where malformed input and serving failures are logged.</param>
    public ShardForwarder(IPeerTransport transport, Func<NodeId, string?> addressOf, ShardForwarderOptions options, ILogger<ShardForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(addressOf);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new ArgumentException("Invalid forwarding options: " + string.Join("; ", problems), nameof(options));
        }
        _transport = transport;
        _addressOf = addressOf;
        _options = options;
        _logger = logger;
        _copyParts = new CopyPartAssembler(options.MaxMessageBytes, options.MaxAssemblingCopyBytes, (long)options.CopyPartIdleLimit.TotalMilliseconds);
    }

    /// <summary>This node.</summary>
    public NodeId Self => _transport.LocalNode;

    /// <summary>Calls waiting for an answer now.</summary>
    public int PendingCalls => _pending.Count;

    /// <summary>Forwarded requests being served here now.</summary>
    public int ServingNow => Math.Max(0, Volatile.Read(ref _serving));

    /// <summary>Received envelopes dropped or answered INVALID because they were malformed (did not parse, no body,
    /// unknown format).</summary>
    public long MalformedReceived => Interlocked.Read(ref _malformed);

    /// <summary>Answers that matched no call in flight (it had ended, or another node answered it) and were dropped.</summary>
    public long UnmatchedAnswers => Interlocked.Read(ref _unmatched);

    /// <summary>Requests answered DROPPED because <see cref="ShardForwarderOptions.MaxServedConcurrently"/> were being served.</summary>
    public long RefusedOverLimit => Interlocked.Read(ref _refused);

    /// <summary>Answers that could not be sent back (the asking node has no address in this node's view, the link refused).</summary>
    public long UnanswerableRequests => Interlocked.Read(ref _unanswerable);

    /// <summary>Block copies arriving in parts that are being put together here now.</summary>
    public int CopyTransfersInProgress => _copyParts.InProgress;

    /// <summary>Copy parts refused and copy transfers dropped here (a part lost or out of order, over a bound).</summary>
    public long CopyPartsRefused => _copyParts.Refused;

    /// <summary>Starts serving forwarded requests with <paramref name="handler"/> (until then they are answered DROPPED).</summary>
    public void ServeWith(IForwardedCallHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
        {
            throw new InvalidOperationException("The forwarder already serves with a handler.");
        }
    }

    /// <summary>Forwards a proposal to <paramref name="node"/> and waits at most <paramref name="wait"/> for its answer.
    /// For an async write (<see cref="ProposeRequest.AcknowledgeAtAppend"/>), <paramref name="appended"/> completes when
    /// the node's early APPENDED reply comes, and the call goes on waiting for the final one.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the call is forgotten).</exception>
    public async Task<ForwardedCall<ProposeReply>> ProposeAsync(NodeId node, ProposeRequest request, TimeSpan wait, CancellationToken cancellationToken,
        TaskCompletionSource? appended = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.ForwardOut);
        var (fate, answer) = await CallAsync(node, new ForwardingEnvelope { Propose = request }, wait, cancellationToken, appended).ConfigureAwait(false);
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.ForwardBack);
        return answer?.BodyCase switch
        {
            null => new(fate, null),
            ForwardingEnvelope.BodyOneofCase.ProposeReply => new(fate, answer.ProposeReply),
            ForwardingEnvelope.BodyOneofCase.Error => new(fate, new ProposeReply { Status = ShardReplyStatus.Invalid, Reason = $"node {node} refused the call: {answer.Error.Message}" }),
            _ => new(fate, new ProposeReply { Status = ShardReplyStatus.Invalid, Reason = $"node {node} answered a proposal with {answer.BodyCase}" }),
        };
    }

    /// <summary>Forwards a read to <paramref name="node"/> and waits at most <paramref name="wait"/> for its answer.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the call is forgotten).</exception>
    public async Task<ForwardedCall<ReadReply>> ReadAsync(NodeId node, ReadRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (fate, answer) = await CallAsync(node, new ForwardingEnvelope { Read = request }, wait, cancellationToken).ConfigureAwait(false);
        return answer?.BodyCase switch
        {
            null => new(fate, null),
            ForwardingEnvelope.BodyOneofCase.ReadReply => new(fate, answer.ReadReply),
            ForwardingEnvelope.BodyOneofCase.Error => new(fate, new ReadReply { Status = ShardReplyStatus.Invalid, Reason = $"node {node} refused the call: {answer.Error.Message}" }),
            _ => new(fate, new ReadReply { Status = ShardReplyStatus.Invalid, Reason = $"node {node} answered a read with {answer.BodyCase}" }),
        };
    }

    /// <summary>Asks <paramref name="node"/> for its replicas' status; null unless it answered within <paramref name="wait"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ReplicaStatusReply?> StatusAsync(NodeId node, TimeSpan wait, CancellationToken cancellationToken)
    {
        var (_, answer) = await CallAsync(node, new ForwardingEnvelope { Status = new ReplicaStatusRequest { Format = 1 } }, wait, cancellationToken).ConfigureAwait(false);
        return answer?.BodyCase == ForwardingEnvelope.BodyOneofCase.StatusReply ? answer.StatusReply : null;
    }

    /// <summary>
    /// Sends a block copy to <paramref name="node"/> to store durably; null unless it answered within <paramref name="wait"/>.
    /// A block larger than <see cref="CopyPartBytes"/> leaves in parts (<see cref="CopyPart"/>, one-way, in order) and the
    /// request carries the last one, so no message on the way is a large-object-heap array; the parts wrap
    /// <paramref name="request"/>'s bytes without copying them.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ForwardedCall<StoreCopyReply>> StoreCopyAsync(NodeId node, StoreCopyRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        if (request.Block.Length > _options.MaxMessageBytes)
        {
            return new(ForwardedCallFate.TooLarge, null); // what a whole envelope of it would have been
        }
        if (request.Transfer == 0 && request.Block.Length > CopyPartBytes)
        {
            if (SendCopyParts(node, request.Block.Memory) is not { } last)
            {
                return new(ForwardedCallFate.NotSent, null);
            }
            request = new StoreCopyRequest { Shard = request.Shard, Transfer = last.Transfer, Block = last.Part };
        }
        var (fate, answer) = await CallAsync(node, new ForwardingEnvelope { StoreCopy = request }, wait, cancellationToken).ConfigureAwait(false);
        return answer?.BodyCase switch
        {
            null => new(fate, null),
            ForwardingEnvelope.BodyOneofCase.StoreCopyReply => new(fate, answer.StoreCopyReply),
            _ => new(fate, new StoreCopyReply { Status = CopyStatus.Dropped, Reason = $"node {node} answered a copy with {answer.BodyCase}" }),
        };
    }

    /// <summary>Asks <paramref name="node"/> for its own copy of a block; null unless it answered within <paramref name="wait"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ReadCopyReply?> ReadCopyAsync(NodeId node, ReadCopyRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (_, answer) = await CallAsync(node, new ForwardingEnvelope { ReadCopy = request }, wait, cancellationToken).ConfigureAwait(false);
        return answer?.BodyCase == ForwardingEnvelope.BodyOneofCase.ReadCopyReply ? answer.ReadCopyReply : null;
    }

    /// <summary>Asks <paramref name="node"/> which block copies of a shard it holds in a range; null unless it answered within <paramref name="wait"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ListCopiesReply?> ListCopiesAsync(NodeId node, ListCopiesRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (_, answer) = await CallAsync(node, new ForwardingEnvelope { ListCopies = request }, wait, cancellationToken).ConfigureAwait(false);
        return answer?.BodyCase == ForwardingEnvelope.BodyOneofCase.ListCopiesReply ? answer.ListCopiesReply : null;
    }

    /// <summary>Sends <paramref name="node"/> its fragment of an erasure-coded block to store durably.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ForwardedCall<StoreCopyReply>> StoreFragmentAsync(NodeId node, StoreFragmentRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (fate, answer) = await CallAsync(node, new ForwardingEnvelope { StoreFragment = request }, wait, cancellationToken).ConfigureAwait(false);
        return answer?.BodyCase switch
        {
            null => new(fate, null),
            ForwardingEnvelope.BodyOneofCase.StoreFragmentReply => new(fate, answer.StoreFragmentReply),
            _ => new(fate, new StoreCopyReply { Status = CopyStatus.Dropped, Reason = $"node {node} answered a fragment with {answer.BodyCase}" }),
        };
    }

    /// <summary>Asks <paramref name="node"/> for its fragment of a block; null unless it answered within <paramref name="wait"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ReadFragmentReply?> ReadFragmentAsync(NodeId node, ReadFragmentRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (_, answer) = await CallAsync(node, new ForwardingEnvelope { ReadFragment = request }, wait, cancellationToken).ConfigureAwait(false);
        return answer?.BodyCase == ForwardingEnvelope.BodyOneofCase.ReadFragmentReply ? answer.ReadFragmentReply : null;
    }

    /// <summary>Asks <paramref name="node"/> which fragments it holds of some blocks; null unless it answered within <paramref name="wait"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<FragmentStatusReply?> FragmentStatusAsync(NodeId node, FragmentStatusRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (_, answer) = await CallAsync(node, new ForwardingEnvelope { FragmentStatus = request }, wait, cancellationToken).ConfigureAwait(false);
        return answer?.BodyCase == ForwardingEnvelope.BodyOneofCase.FragmentStatusReply ? answer.FragmentStatusReply : null;
    }

    /// <summary>
    /// Takes one <see cref="PeerChannelKind.Forwarding"/> message from the inbound pump: completes the call an answer
    /// belongs to, or starts serving a request. Returns at once and never throws for anything the peer sent.
    /// </summary>
    public void Receive(in InboundPeerMessage message)
    {
        ForwardingEnvelope envelope;
        try
        {
            envelope = ForwardingEnvelope.Parser.ParseFrom(message.Message.Body.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            Interlocked.Increment(ref _malformed);
            LogMalformed(message.From, e.Message);
            return;
        }
        try
        {
            Dispatch(message.From, envelope);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug here must not end the node's inbound pump (and with it every Raft message): log it, go on.
            LogServeFailed(e, message.From, envelope.BodyCase.ToString());
        }
    }

    /// <summary>Stops serving (requests in progress are cancelled and awaited, unanswered) and ends every call in
    /// flight with <see cref="ForwardedCallFate.NoAnswer"/>. Later calls are <see cref="ForwardedCallFate.NotSent"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _copyParts.Clear();
        foreach (var call in _pending.Values)
        {
            call.TrySetResult(null);
        }
        if (Volatile.Read(ref _serving) > 0)
        {
            await _drained.Task.ConfigureAwait(false);
        }
        _stopping.Dispose();
    }

    private void Dispatch(NodeId from, ForwardingEnvelope envelope)
    {
        switch (envelope.BodyCase)
        {
            case ForwardingEnvelope.BodyOneofCase.ProposeReply:
            case ForwardingEnvelope.BodyOneofCase.ReadReply:
            case ForwardingEnvelope.BodyOneofCase.StatusReply:
            case ForwardingEnvelope.BodyOneofCase.Error:
            case ForwardingEnvelope.BodyOneofCase.StoreCopyReply:
            case ForwardingEnvelope.BodyOneofCase.ReadCopyReply:
            case ForwardingEnvelope.BodyOneofCase.ListCopiesReply:
            case ForwardingEnvelope.BodyOneofCase.StoreFragmentReply:
            case ForwardingEnvelope.BodyOneofCase.ReadFragmentReply:
            case ForwardingEnvelope.BodyOneofCase.FragmentStatusReply:
                Complete(from, envelope);
                break;
            case ForwardingEnvelope.BodyOneofCase.Propose:
            case ForwardingEnvelope.BodyOneofCase.Read:
            case ForwardingEnvelope.BodyOneofCase.Status:
            case ForwardingEnvelope.BodyOneofCase.StoreCopy:
            case ForwardingEnvelope.BodyOneofCase.ReadCopy:
            case ForwardingEnvelope.BodyOneofCase.ListCopies:
            case ForwardingEnvelope.BodyOneofCase.StoreFragment:
            case ForwardingEnvelope.BodyOneofCase.ReadFragment:
            case ForwardingEnvelope.BodyOneofCase.FragmentStatus:
                if (envelope.Format != Format)
                {
                    Refuse(from, envelope.Call, $"unsupported forwarding format {envelope.Format}; this node speaks {Format}");
                    break;
                }
                Serve(from, envelope);
                break;
            case ForwardingEnvelope.BodyOneofCase.CopyPart:
                // One-way: a refusal drops the transfer, and the request that ends it is answered DROPPED.
                if (envelope.Format != Format)
                {
                    Refuse(from, 0, $"unsupported forwarding format {envelope.Format} on a copy part; this node speaks {Format}");
                }
                else if (_copyParts.Add(from, envelope.CopyPart, Environment.TickCount64) is { } refused)
                {
                    LogCopyPartNotTaken(from, refused);
                }
                break;
            default:
                Refuse(from, envelope.Call, "the envelope carries no request");
                break;
        }
    }

    // Every part of the block but the last, told one-way; the last is for the request that ends the transfer. Null
    // when a part could not be sent (nothing more is sent: the receiver drops the transfer when it next starts one).
    private (ulong Transfer, ByteString Part)? SendCopyParts(NodeId node, ReadOnlyMemory<byte> block)
    {
        if (Volatile.Read(ref _disposed) != 0 || node.IsNone || node == Self || _addressOf(node) is not { Length: > 0 } address)
        {
            return null;
        }
        var transfer = (ulong)Interlocked.Increment(ref _nextTransfer);
        int offset = 0;
        while (block.Length - offset > CopyPartBytes)
        {
            var part = new CopyPart
            {
                Transfer = transfer,
                Offset = (uint)offset,
                // The caller's bytes are not modified while the call runs (StoreCopyAsync's callers own them).
                Data = UnsafeByteOperations.UnsafeWrap(block.Slice(offset, CopyPartBytes)),
            };
            if (offset == 0)
            {
                part.Total = (uint)block.Length;
            }
            var body = new ForwardingEnvelope { Format = Format, CopyPart = part }.ToByteArray();
            if (!_transport.Send(node, address, PeerMessage.Forwarding(body)))
            {
                return null;
            }
            offset += CopyPartBytes;
        }
        return (transfer, UnsafeByteOperations.UnsafeWrap(block[offset..]));
    }

    private async Task<(ForwardedCallFate Fate, ForwardingEnvelope? Answer)> CallAsync(
        NodeId node, ForwardingEnvelope request, TimeSpan wait, CancellationToken cancellationToken, TaskCompletionSource? appended = null)
    {
        if (wait <= TimeSpan.Zero && wait != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(wait), wait, "A forwarded call waits a positive time (or infinitely).");
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (Volatile.Read(ref _disposed) != 0 || node.IsNone || node == Self || _addressOf(node) is not { Length: > 0 } address)
        {
            return (ForwardedCallFate.NotSent, null);
        }
        var call = (ulong)Interlocked.Increment(ref _nextCall);
        // A span for the hop when someone traces (null otherwise, at the cost of one check); its context travels in
        // the envelope so the leader's span joins the caller's trace.
        using var span = NodeTracing.StartForward(request.BodyCase, System.Diagnostics.ActivityKind.Client, default);
        request.Traceparent = (span ?? System.Diagnostics.Activity.Current)?.Id ?? "";
        request.Format = Format;
        request.Call = call;
        request.TimeoutMs = MillisecondsOf(wait);
        var body = request.ToByteArray();
        if (body.Length > _options.MaxMessageBytes)
        {
            return (ForwardedCallFate.TooLarge, null);
        }
        var pending = new PendingCall(node, appended);
        _pending[call] = pending;
        try
        {
            // Read before the send, so a break in between is seen: the peer going down (or its link failing) ends the
            // wait at once instead of at its deadline, as no answer can come over the ended connection.
            var connection = _transport.ConnectionLost(node);
            if (Volatile.Read(ref _disposed) != 0 || !_transport.Send(node, address, PeerMessage.Forwarding(body)))
            {
                return (ForwardedCallFate.NotSent, null);
            }
            if (!connection.CanBeCanceled)
            {
                // The first message to the node made its link: watch the connection that message started.
                connection = _transport.ConnectionLost(node);
            }
            using var lost = connection.UnsafeRegister(static state => ((PendingCall)state!).TrySetResult(null), pending);
            try
            {
                var answer = await pending.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
                return answer is null ? (ForwardedCallFate.NoAnswer, null) : (ForwardedCallFate.Answered, answer);
            }
            catch (TimeoutException)
            {
                return (ForwardedCallFate.NoAnswer, null);
            }
        }
        finally
        {
            _pending.TryRemove(call, out _);
        }
    }

    private void Complete(NodeId from, ForwardingEnvelope answer)
    {
        // Only the node asked may answer: another peer cannot complete (forge) a call it was never sent.
        if (_pending.TryGetValue(answer.Call, out var pending) && pending.Node == from)
        {
            if (answer.ProposeReply?.Status == ShardReplyStatus.Appended)
            {
                // An async write's early answer: the call stays open for the final one. Only a call that asked for it
                // takes it; to any other it would read as a status the gateway does not expect.
                if (pending.Appended is { } appended)
                {
                    appended.TrySetResult();
                }
                else
                {
                    Interlocked.Increment(ref _unmatched);
                }
                return;
            }
            pending.TrySetResult(answer);
        }
        else
        {
            Interlocked.Increment(ref _unmatched);
        }
    }

    // 0 (the server's cap) for an infinite wait.
    private static uint MillisecondsOf(TimeSpan wait) =>
        wait == Timeout.InfiniteTimeSpan ? 0 : wait <= TimeSpan.Zero ? 1 : (uint)Math.Min(uint.MaxValue, Math.Ceiling(wait.TotalMilliseconds));

    // One call in flight: the node asked and the answer to come (null: the forwarder stopped).
    private sealed class PendingCall(NodeId node, TaskCompletionSource? appended) : TaskCompletionSource<ForwardingEnvelope?>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public NodeId Node { get; } = node;

        // An async write's early-answer signal (null for every other call).
        public TaskCompletionSource? Appended { get; } = appended;
    }
}
