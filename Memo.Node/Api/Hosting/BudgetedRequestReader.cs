using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Grpc.Core;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// One call's request body as Grpc.AspNetCore reads it, with each message's declared length reserved from the shared
/// <see cref="RequestBufferBudget"/> before the message is buffered, and a message in progress held to a minimum
/// data rate.
/// </summary>
/// <remarks>
/// <para><b>Why here.</b> Grpc.AspNetCore reads a message by asking the body pipe for data until the whole
/// length-prefixed message is there, each time marking everything examined; Kestrel then opens the HTTP/2 flow-control
/// window again, so a message is buffered in full (up to the message size limit) however slowly it arrives or however
/// long it stays unfinished. This reader sits between the two. When the unread data starts with a message's 5-byte
/// prefix, it reserves the declared length (prefix included) before handing the data on; until the reservation is
/// granted it holds the read, Kestrel sends no WINDOW_UPDATE, and the client can only fill the stream's window. A
/// message that does not get budget within <see cref="RequestBufferLimits.Wait"/> ends the call RESOURCE_EXHAUSTED.
/// The reservation is given back when the reader consumes the message's last byte, or when the call ends.</para>
/// <para><b>Slow senders, per call.</b> This reader is the node's only minimum request data rate (Kestrel's is off, see
/// <see cref="ApiServer"/>: on HTTP/2 it is one average over all of a connection's streams and closes the whole
/// connection). It times a message that holds budget: in every grace period at least
/// <see cref="RequestBufferLimits.MinDataRate"/> x <see cref="RequestBufferLimits.GracePeriod"/> more of its bytes (or
/// the rest of it) must arrive, or the call ends RESOURCE_EXHAUSTED and its budget is released. A body that carries a
/// single message (unary and server-streaming calls, <c>timeQuiet</c>) is also timed while no message holds budget: it
/// may go at most one grace period from its first read, or from its last message, without completing the next
/// message prefix or its end, so a client cannot hold a stream by sending headers and then nothing, or a prefix a byte
/// at a time. Idle time between the messages of client- and duplex-streaming calls is not timed.</para>
/// <para>A small message (up to <see cref="WholeMessageThreshold"/>) whose bytes are all in the buffer when its prefix is
/// first seen takes no reservation: it is already buffered, and the budget exists to stop the buffering of messages
/// that have not arrived.</para>
/// <para>The reader follows the framing through every consumed byte (a consumer may take several messages from one
/// buffer), so it always knows whether the unread data starts at a prefix. Not thread-safe, as a pipe reader is not,
/// except <see cref="ReleaseHeld"/>.</para>
/// </remarks>
internal sealed class BudgetedRequestReader : PipeReader
{
    private const int PrefixSize = 5;

    // A message no larger than this (prefix included) that arrived whole takes no reservation: less than Kestrel's
    // smallest stream window, so a stream holds at most this much unreserved, as it could hold its window anyway.
    internal const int WholeMessageThreshold = 64 * 1024;

    private readonly PipeReader _inner;
    private readonly RequestBufferLimits _limits;
    private readonly byte[] _prefix = new byte[PrefixSize];
    private ReadOnlySequence<byte> _buffer;
    private long _unread;
    private int _prefixFill;
    private long _messageRemaining;
    private long _messageLength;
    private long _held;
    private long _checkpointTime;
    private long _checkpointBytes;
    private readonly bool _timeQuiet;
    // When the body last completed a message prefix or a message (or was first read); 0 before the first read.
    private long _quietSince;

    /// <param name="inner">Kestrel's request body reader.</param>
    /// <param name="limits">The budget and the data rate.</param>
    /// <param name="timeQuiet">Whether the body carries a single message (unary and server-streaming calls), so that a
    /// wait for its data is timed even when no message holds budget.</param>
    public BudgetedRequestReader(PipeReader inner, RequestBufferLimits limits, bool timeQuiet = false)
    {
        _inner = inner;
        _limits = limits;
        _timeQuiet = timeQuiet && limits.MinDataRate > 0;
    }

    /// <summary>Budget this reader holds now (for tests).</summary>
    public long Held => Interlocked.Read(ref _held);

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = Held > 0 && _limits.MinDataRate > 0
            ? await ReadWithinRateAsync(cancellationToken).ConfigureAwait(false)
            : _timeQuiet
                ? await ReadWithinQuietLimitAsync(cancellationToken).ConfigureAwait(false)
                : await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (AtUnreservedPrefix(result) is { } declared)
        {
            bool granted;
            try
            {
                granted = await _limits.Budget.TryReserveAsync(declared, _limits.Wait, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _inner.AdvanceTo(result.Buffer.Start);
                throw;
            }
            if (!granted)
            {
                _inner.AdvanceTo(result.Buffer.Start);
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"The node is buffering as many request bytes as it may (memo.grpc.request-buffer-budget, {_limits.Budget.Capacity} bytes); " +
                    $"a message of {declared - PrefixSize} bytes found no room within {_limits.Wait.TotalMilliseconds:F0} ms. Retry later."));
            }
            Hold(declared);
        }
        _buffer = result.Buffer;
        _unread = result.Buffer.Length;
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!_inner.TryRead(out result))
        {
            return false;
        }
        if (AtUnreservedPrefix(result) is { } declared)
        {
            var reservation = _limits.Budget.TryReserveAsync(declared, TimeSpan.Zero, CancellationToken.None);
            if (!reservation.IsCompletedSuccessfully || !reservation.Result)
            {
                // No room now: report no data, as if it had not arrived; a ReadAsync will wait for room.
                _inner.AdvanceTo(result.Buffer.Start);
                result = default;
                return false;
            }
            Hold(declared);
        }
        _buffer = result.Buffer;
        _unread = result.Buffer.Length;
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        var taken = _buffer.Slice(_buffer.Start, consumed);
        Follow(taken);
        _unread = _buffer.Length - taken.Length;
        _buffer = default;
        _inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null)
    {
        ReleaseHeld();
        _inner.Complete(exception);
    }

    /// <summary>Gives back the budget of a message not consumed in full (the call ended). Idempotent.</summary>
    public void ReleaseHeld()
    {
        var held = Interlocked.Exchange(ref _held, 0);
        if (held > 0)
        {
            _limits.Budget.Release(held);
        }
    }

    // The declared size (prefix included) of the message whose prefix starts the unread data, when it has no
    // reservation yet and the budget could ever hold it; null otherwise. A larger message is left to
    // Grpc.AspNetCore, which refuses it RESOURCE_EXHAUSTED from this same prefix.
    private long? AtUnreservedPrefix(ReadResult result)
    {
        if (result.IsCanceled || _messageRemaining > 0 || _prefixFill > 0 || result.Buffer.Length < PrefixSize)
        {
            return null;
        }
        Span<byte> prefix = stackalloc byte[PrefixSize];
        result.Buffer.Slice(0, PrefixSize).CopyTo(prefix);
        var declared = PrefixSize + (long)BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        if (declared > _limits.Budget.Capacity)
        {
            // Never buffered here; the framing still counts its bytes down.
            _messageRemaining = declared;
            _messageLength = declared;
            return null;
        }
        if (declared <= WholeMessageThreshold && result.Buffer.Length >= declared)
        {
            // Already here in full: its bytes are held whatever we do, and handing them on at once frees them
            // soonest. Reserving would cost every small call a trip through the budget's lock (measured: about a
            // tenth of a node's gets) and bound nothing. Follow still reads its prefix as it is consumed.
            return null;
        }
        return declared;
    }

    // The message whose prefix starts the unread data got its reservation: consuming its bytes counts them down.
    private void Hold(long declared)
    {
        _messageRemaining = declared;
        _messageLength = declared;
        Interlocked.Exchange(ref _held, declared);
        _checkpointTime = _limits.Time.GetTimestamp();
        _checkpointBytes = 0;
    }

    // Walks the consumed bytes through the framing: counts down the current message, reads the prefixes of
    // messages consumed without a reservation, and gives the budget back at the end of a reserved message.
    private void Follow(ReadOnlySequence<byte> consumed)
    {
        while (!consumed.IsEmpty)
        {
            if (_messageRemaining == 0)
            {
                var take = (int)Math.Min(PrefixSize - _prefixFill, consumed.Length);
                consumed.Slice(0, take).CopyTo(_prefix.AsSpan(_prefixFill));
                _prefixFill += take;
                consumed = consumed.Slice(take);
                if (_prefixFill == PrefixSize)
                {
                    _prefixFill = 0;
                    MarkProgress();
                    _messageLength = PrefixSize + (long)BinaryPrimitives.ReadUInt32BigEndian(_prefix.AsSpan(1));
                    _messageRemaining = _messageLength - PrefixSize;
                    if (_messageRemaining == 0)
                    {
                        ReleaseHeld();
                    }
                }
                continue;
            }
            var step = Math.Min(_messageRemaining, consumed.Length);
            _messageRemaining -= step;
            consumed = consumed.Slice(step);
            if (_messageRemaining == 0)
            {
                ReleaseHeld();
                MarkProgress();
            }
        }
    }

    private void MarkProgress()
    {
        if (_timeQuiet)
        {
            _quietSince = _limits.Time.GetTimestamp();
        }
    }

    // A single-message body with no message holding budget (before its prefix is complete, or after its message,
    // waiting for its end): data already here is handed on at once; a wait ends the call once one grace period has
    // passed since the first read or the last prefix or message completed.
    private async ValueTask<ReadResult> ReadWithinQuietLimitAsync(CancellationToken cancellationToken)
    {
        if (_quietSince == 0)
        {
            _quietSince = _limits.Time.GetTimestamp();
        }
        return await ReadWithinGraceAsync(_quietSince, cancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"The request body stalled: no message prefix or end of body arrived in {_limits.GracePeriod.TotalSeconds:F0} s " +
                $"(memo.grpc.min-request-data-rate-grace-period)."));
    }

    // A message holding budget must keep arriving: within every grace period after its prefix, at least
    // MinDataRate x GracePeriod more of its bytes (or the rest of it). Unlike an average over the whole message, this
    // also cuts a sender that delivers most of a large message quickly and then stops. Waits no longer than that.
    private async ValueTask<ReadResult> ReadWithinRateAsync(CancellationToken cancellationToken)
    {
        var received = _messageLength - _messageRemaining + Math.Min(_unread, _messageRemaining);
        var step = Math.Max(1, (long)(_limits.MinDataRate * _limits.GracePeriod.TotalSeconds));
        if (received - _checkpointBytes >= Math.Min(step, _messageLength - _checkpointBytes))
        {
            _checkpointBytes = received;
            _checkpointTime = _limits.Time.GetTimestamp();
        }
        if (await ReadWithinGraceAsync(_checkpointTime, cancellationToken).ConfigureAwait(false) is { } result)
        {
            return result;
        }
        ReleaseHeld();
        throw new RpcException(new Status(StatusCode.ResourceExhausted,
            $"The request message stalled: less than {step} bytes arrived in {_limits.GracePeriod.TotalSeconds:F0} s " +
            $"(memo.grpc.min-request-data-rate {_limits.MinDataRate} bytes/s); {received} of {_messageLength} bytes arrived."));
    }

    // The next read, if it comes within one grace period after `since`; null when that time ran out first. Data already
    // here is handed on without a timer; a caller's token that cannot be cancelled (the usual case) needs no linked source.
    private async ValueTask<ReadResult?> ReadWithinGraceAsync(long since, CancellationToken cancellationToken)
    {
        if (_inner.TryRead(out var ready))
        {
            return ready;
        }
        var left = _limits.GracePeriod - _limits.Time.GetElapsedTime(since);
        using var grace = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero, _limits.Time);
        using var either = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, grace.Token) : null;
        try
        {
            return await _inner.ReadAsync(either?.Token ?? grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }
}
