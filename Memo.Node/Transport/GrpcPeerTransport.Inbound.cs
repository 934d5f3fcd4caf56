using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

public sealed partial class GrpcPeerTransport
{
    /// <summary>
    /// Serves one accepted Link stream (<see cref="PeerLinkService.Link"/>): reads the peer's hello (refusing
    /// other networks), answers with this node's hello, then hands every frame to <see cref="Inbound"/> until
    /// the peer ends the stream or this transport stops. Every failure leaves as an <see cref="RpcException"/>
    /// with the status the call ends with; anything else reaching Grpc.AspNetCore is a bug it logs as an error.
    /// </summary>
    internal async Task LinkAsync(IAsyncStreamReader<PeerBatch> requests, IServerStreamWriter<PeerBatch> responses, ServerCallContext context)
    {
        var inbound = new InboundLink();
        _inboundLinks[inbound] = 0;
        try
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw StoppingStatus();
            }
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopping.Token);
            // The same source bounds the wait for the hello; its timer is stopped once the hello is in.
            linked.CancelAfter(Options.HelloTimeout);
            await ServeLinkAsync(requests, responses, context, linked).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException && _stopping.IsCancellationRequested)
        {
            throw StoppingStatus();
        }
        catch (Exception e) when (context.CancellationToken.IsCancellationRequested)
        {
            // The peer reset the stream or its connection dropped. The pending read or write then fails with a
            // cancellation, an I/O error or "the request is complete", depending on where it was; all mean that.
            throw new RpcException(new Status(StatusCode.Cancelled, "The peer cancelled the link.", e));
        }
        catch (OperationCanceledException)
        {
            // Only the hello timer is left to have cancelled (it can also fire just as the hello arrives,
            // before it is stopped; the peer then simply reconnects).
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"No hello within {Options.HelloTimeout} on a peer link to node {LocalNode}."));
        }
        catch (Exception e) when (e is InvalidDataException or InvalidProtocolBufferException)
        {
            // Garbage from the peer: Grpc.AspNetCore reports a bad frame header (InvalidDataException) and lets the
            // parser's exception through as is; both end this call only. Before the IOException clause, which
            // InvalidProtocolBufferException derives from.
            throw new RpcException(new Status(StatusCode.Internal, $"Malformed message on the peer link: {e.Message}", e));
        }
        catch (IOException e)
        {
            // The peer's connection dropped (it stopped or crashed). Kestrel can surface this before it flags
            // the request as aborted, so say it here rather than let it pass for a handler failure.
            throw new RpcException(new Status(StatusCode.Unavailable, "The peer's connection was lost.", e));
        }
        finally
        {
            _inboundLinks.TryRemove(inbound, out _);
            inbound.Complete();
        }
    }

    private async Task ServeLinkAsync(
        IAsyncStreamReader<PeerBatch> requests,
        IServerStreamWriter<PeerBatch> responses,
        ServerCallContext context,
        CancellationTokenSource linked)
    {
        if (!await requests.MoveNext(linked.Token).ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "A peer link ended before its hello."));
        }
        var check = PeerWire.CheckHello(requests.Current, LocalNode, NetworkId, NodeId.None);
        if (!check.Accepted)
        {
            LogInboundRefused(_logger, context.Peer, check.Error!);
            throw new RpcException(new Status(check.Status, check.Error!));
        }
        linked.CancelAfter(Timeout.InfiniteTimeSpan);

        var link = GetOrAddLink(check.Node, check.Address)
            ?? throw new RpcException(new Status(StatusCode.ResourceExhausted, $"Node {LocalNode} already tracks its limit of {Options.MaxPeers} peers."));
        await responses.WriteAsync(PeerWire.Hello(LocalNode, AdvertisedAddress, NetworkId), linked.Token).ConfigureAwait(false);
        link.Counters.InboundOpened();
        LogInboundAccepted(_logger, check.Node, check.Address, context.Peer);
        try
        {
            while (await requests.MoveNext(linked.Token).ConfigureAwait(false))
            {
                var batch = requests.Current;
                if (PeerWire.CheckBatch(batch, check.Node) is { } error)
                {
                    LogInboundRefused(_logger, context.Peer, error);
                    throw new RpcException(new Status(StatusCode.InvalidArgument, error));
                }
                await AcceptFramesAsync(link, batch.Frames, linked.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            link.Counters.InboundClosed();
        }
    }

    private RpcException StoppingStatus() => new(new Status(StatusCode.Unavailable, $"Node {LocalNode} is stopping."));

    /// <summary>An accepted stream, tracked so that disposal can wait for its handler to return.</summary>
    private sealed class InboundLink
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Done => _done.Task;

        public void Complete() => _done.TrySetResult();
    }
}
