using Google.Protobuf;
using Memo.Node.Metrics;
using Memo.Node.Shards.Wire;
using Memo.Node.Transport;

namespace Memo.Node.Shards.Forwarding;

/// <summary>The serving half: requests other nodes forward to this one.</summary>
public sealed partial class ShardForwarder
{
    private void Serve(NodeId from, ForwardingEnvelope request)
    {
        // A copy sent in parts is put together first, whatever happens next, so its transfer never lingers here.
        if (request.BodyCase == ForwardingEnvelope.BodyOneofCase.StoreCopy && request.StoreCopy.Transfer != 0)
        {
            var transfer = request.StoreCopy.Transfer;
            if (_copyParts.Complete(from, transfer, request.StoreCopy.Block.Span, out var problem) is not { } whole)
            {
                LogCopyPartRefused(from, problem);
                Answer(from, request.Call, Dropped(request, $"node {Self} could not put the copy together: {problem}"));
                return;
            }
            // The assembled array is this request's alone: wrapped, not copied (the silo stores it as it is).
            request.StoreCopy = new StoreCopyRequest { Shard = request.StoreCopy.Shard, Block = UnsafeByteOperations.UnsafeWrap(whole) };
        }
        var handler = Volatile.Read(ref _handler);
        if (handler is null || Volatile.Read(ref _disposed) != 0)
        {
            Answer(from, request.Call, Dropped(request, handler is null ? "the node is starting" : "the node is stopping"));
            return;
        }
        if (request.BodyCase == ForwardingEnvelope.BodyOneofCase.Status)
        {
            Answer(from, request.Call, new ForwardingEnvelope { StatusReply = handler.ServeStatus() });
            return;
        }
        // Counted before the check of _disposed (DisposeAsync does the reverse), so a request either sees the
        // forwarder stopping or is awaited by it.
        if (Interlocked.Increment(ref _serving) > _options.MaxServedConcurrently || Volatile.Read(ref _disposed) != 0)
        {
            var stopping = Volatile.Read(ref _disposed) != 0;
            Finished();
            if (!stopping)
            {
                Interlocked.Increment(ref _refused);
            }
            Answer(from, request.Call, Dropped(request, stopping
                ? "the node is stopping"
                : $"node {Self} is serving {_options.MaxServedConcurrently} forwarded requests already"));
            return;
        }
        _ = ServeAsync(from, request, handler);
    }

    private async Task ServeAsync(NodeId from, ForwardingEnvelope request, IForwardedCallHandler handler)
    {
        System.Diagnostics.ActivityContext.TryParse(request.Traceparent, null, out var caller);
        using var span = NodeTracing.StartForward(request.BodyCase, System.Diagnostics.ActivityKind.Server, caller);
        try
        {
            // The caller stops waiting after timeout_ms; serving longer would only hold a slot.
            var limit = request.TimeoutMs == 0
                ? _options.MaxServeTime
                : TimeSpan.FromMilliseconds(Math.Min(request.TimeoutMs, _options.MaxServeTime.TotalMilliseconds));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(limit);
            ForwardingEnvelope answer;
            try
            {
                answer = request.BodyCase switch
                {
                    ForwardingEnvelope.BodyOneofCase.Propose when request.Propose.AcknowledgeAtAppend =>
                        new ForwardingEnvelope { ProposeReply = await ServeAcknowledgedAtAppendAsync(from, request.Call, handler, request.Propose, timeout.Token).ConfigureAwait(false) },
                    ForwardingEnvelope.BodyOneofCase.Propose =>
                        new ForwardingEnvelope { ProposeReply = await ServeProposeAsync(handler, request.Propose, timeout.Token).ConfigureAwait(false) },
                    ForwardingEnvelope.BodyOneofCase.StoreCopy =>
                        new ForwardingEnvelope { StoreCopyReply = await handler.ServeStoreCopyAsync(request.StoreCopy, timeout.Token).ConfigureAwait(false) },
                    ForwardingEnvelope.BodyOneofCase.ReadCopy =>
                        new ForwardingEnvelope { ReadCopyReply = await handler.ServeReadCopyAsync(request.ReadCopy, timeout.Token).ConfigureAwait(false) },
                    ForwardingEnvelope.BodyOneofCase.ListCopies =>
                        new ForwardingEnvelope { ListCopiesReply = await handler.ServeListCopiesAsync(request.ListCopies, timeout.Token).ConfigureAwait(false) },
                    ForwardingEnvelope.BodyOneofCase.StoreFragment =>
                        new ForwardingEnvelope { StoreFragmentReply = await handler.ServeStoreFragmentAsync(request.StoreFragment, timeout.Token).ConfigureAwait(false) },
                    ForwardingEnvelope.BodyOneofCase.ReadFragment =>
                        new ForwardingEnvelope { ReadFragmentReply = await handler.ServeReadFragmentAsync(request.ReadFragment, timeout.Token).ConfigureAwait(false) },
                    ForwardingEnvelope.BodyOneofCase.FragmentStatus =>
                        new ForwardingEnvelope { FragmentStatusReply = await handler.ServeFragmentStatusAsync(request.FragmentStatus, timeout.Token).ConfigureAwait(false) },
                    _ => new ForwardingEnvelope { ReadReply = await handler.ServeReadAsync(request.Read, timeout.Token).ConfigureAwait(false) },
                };
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                return; // the caller has stopped waiting, or this node stops: nobody to answer
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogServeFailed(e, from, request.BodyCase.ToString());
                // A proposal that failed here may have been appended before it did: its outcome is unknown.
                answer = request.BodyCase == ForwardingEnvelope.BodyOneofCase.Propose
                    ? new ForwardingEnvelope { ProposeReply = new ProposeReply { Status = ShardReplyStatus.Unknown, Reason = $"node {Self} failed serving it" } }
                    : Dropped(request, $"node {Self} failed serving it");
            }
            Answer(from, request.Call, answer);
        }
        finally
        {
            Finished();
        }
    }

    private static async Task<ProposeReply> ServeProposeAsync(IForwardedCallHandler handler, ProposeRequest request, CancellationToken cancellationToken) =>
        ParseProposal(handler, request, out var shard, out var command) is { } refused
            ? refused
            : await handler.ServeProposeAsync(shard, command!, cancellationToken).ConfigureAwait(false);

    // An async write: the APPENDED reply goes back at once with the call's id, and the call stays open on the caller's
    // side until the final reply (returned here, sent by ServeAsync) ends it.
    private async Task<ProposeReply> ServeAcknowledgedAtAppendAsync(NodeId from, ulong call, IForwardedCallHandler handler, ProposeRequest request, CancellationToken cancellationToken)
    {
        if (ParseProposal(handler, request, out var shard, out var command) is { } refused)
        {
            return refused;
        }
        var served = handler.ServeProposeAcknowledgedAtAppend(shard, command!, cancellationToken);
        var first = await served.Appended.ConfigureAwait(false);
        if (first.Status != ShardReplyStatus.Appended)
        {
            return first;
        }
        Answer(from, call, new ForwardingEnvelope { ProposeReply = first });
        return await served.Final.ConfigureAwait(false);
    }

    private static ProposeReply? ParseProposal(IForwardedCallHandler handler, ProposeRequest request, out ShardId shard, out ShardCommand? command)
    {
        shard = default;
        command = null;
        if (request.Shard >= (uint)handler.Layout.ShardCount)
        {
            return new ProposeReply { Status = ShardReplyStatus.Invalid, Reason = $"there is no shard {request.Shard}" };
        }
        try
        {
            command = ShardCommand.Parser.ParseFrom(request.Command);
        }
        catch (InvalidProtocolBufferException e)
        {
            return new ProposeReply { Status = ShardReplyStatus.Invalid, Reason = $"the command does not parse: {e.Message}" };
        }
        shard = new ShardId((int)request.Shard);
        return null;
    }

    private void Finished()
    {
        if (Interlocked.Decrement(ref _serving) == 0 && Volatile.Read(ref _disposed) != 0)
        {
            _drained.TrySetResult();
        }
    }

    private void Refuse(NodeId from, ulong call, string why)
    {
        Interlocked.Increment(ref _malformed);
        LogMalformed(from, why);
        if (call != 0)
        {
            Answer(from, call, new ForwardingEnvelope { Error = new ForwardingError { Code = ForwardingErrorCode.Invalid, Message = why } });
        }
    }

    // Nothing done: the caller retries after a back-off.
    private static ForwardingEnvelope Dropped(ForwardingEnvelope request, string why) => request.BodyCase switch
    {
        ForwardingEnvelope.BodyOneofCase.Propose => new ForwardingEnvelope { ProposeReply = new ProposeReply { Status = ShardReplyStatus.Dropped, Reason = why } },
        ForwardingEnvelope.BodyOneofCase.Read => new ForwardingEnvelope { ReadReply = new ReadReply { Status = ShardReplyStatus.Dropped, Reason = why } },
        ForwardingEnvelope.BodyOneofCase.StoreCopy => new ForwardingEnvelope { StoreCopyReply = new StoreCopyReply { Status = CopyStatus.Dropped, Reason = why } },
        ForwardingEnvelope.BodyOneofCase.StoreFragment => new ForwardingEnvelope { StoreFragmentReply = new StoreCopyReply { Status = CopyStatus.Dropped, Reason = why } },
        // No answer a reader could mistake for "not there": the caller tries the next replica on no answer.
        ForwardingEnvelope.BodyOneofCase.ReadCopy or ForwardingEnvelope.BodyOneofCase.ListCopies =>
            new ForwardingEnvelope { Error = new ForwardingError { Code = ForwardingErrorCode.Unspecified, Message = why } },
        _ => new ForwardingEnvelope { Error = new ForwardingError { Code = ForwardingErrorCode.Unspecified, Message = why } },
    };

    private void Answer(NodeId from, ulong call, ForwardingEnvelope answer)
    {
        answer.Format = Format;
        answer.Call = call;
        if (_addressOf(from) is not { Length: > 0 } address)
        {
            Interlocked.Increment(ref _unanswerable);
            return;
        }
        var body = answer.ToByteArray();
        if (body.Length > _options.MaxMessageBytes)
        {
            var why = $"the answer of {body.Length} bytes exceeds the peer message limit of {_options.MaxMessageBytes} bytes";
            var replacement = answer.BodyCase switch
            {
                ForwardingEnvelope.BodyOneofCase.ReadReply => new ForwardingEnvelope { ReadReply = new ReadReply { Status = ShardReplyStatus.Invalid, Reason = why } },
                // A proposal was applied, but its result does not fit: the caller cannot know it.
                ForwardingEnvelope.BodyOneofCase.ProposeReply => new ForwardingEnvelope { ProposeReply = new ProposeReply { Status = ShardReplyStatus.Unknown, Reason = why } },
                _ => new ForwardingEnvelope { Error = new ForwardingError { Code = ForwardingErrorCode.Invalid, Message = why } },
            };
            replacement.Format = Format;
            replacement.Call = call;
            body = replacement.ToByteArray();
        }
        if (!_transport.Send(from, address, PeerMessage.Forwarding(body)))
        {
            Interlocked.Increment(ref _unanswerable);
        }
    }
}
