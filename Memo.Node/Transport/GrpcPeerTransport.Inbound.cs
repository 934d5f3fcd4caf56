using System.Threading.Channels;
using Memo.Node.Api.Grpc;
using Memo.Node.Transport.Wire;
using Memo.Protocol.Grpc;

namespace Memo.Node.Transport;

public sealed partial class GrpcPeerTransport
{
    /// <summary>
    /// Serves one accepted Link stream: reads the peer's hello (refusing other networks), answers with this
    /// node's hello, then hands every frame to <see cref="Inbound"/> until the peer ends the stream or this
    /// transport stops. Every failure leaves as a <see cref="GrpcException"/> with the status the call ends with.
    /// </summary>
    private async Task LinkAsync(IAsyncEnumerable<PeerBatch> requests, IGrpcStreamWriter<PeerBatch> responses, GrpcCallContext context)
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
            await using var batches = requests.GetAsyncEnumerator(linked.Token);
            await ServeLinkAsync(inbound, batches, responses, context, linked).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException && _stopping.IsCancellationRequested)
        {
            throw StoppingStatus();
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested && !inbound.HelloReceived)
        {
            throw new GrpcException(GrpcStatusCode.DeadlineExceeded, $"No hello within {Options.HelloTimeout} on a peer link to node {LocalNode}.");
        }
        finally
        {
            _inboundLinks.TryRemove(inbound, out _);
            inbound.Complete();
        }
    }

    private async Task ServeLinkAsync(
        InboundLink inbound,
        IAsyncEnumerator<PeerBatch> batches,
        IGrpcStreamWriter<PeerBatch> responses,
        GrpcCallContext context,
        CancellationTokenSource linked)
    {
        if (!await batches.MoveNextAsync().ConfigureAwait(false))
        {
            throw new GrpcException(GrpcStatusCode.InvalidArgument, "A peer link ended before its hello.");
        }
        var check = PeerWire.CheckHello(batches.Current, LocalNode, NetworkId, NodeId.None);
        if (!check.Accepted)
        {
            LogInboundRefused(_logger, context.Peer, check.Error!);
            throw new GrpcException(check.Status, check.Error!);
        }
        linked.CancelAfter(Timeout.InfiniteTimeSpan);
        inbound.HelloReceived = true;

        var link = GetOrAddLink(check.Node, check.Address)
            ?? throw new GrpcException(GrpcStatusCode.ResourceExhausted, $"Node {LocalNode} already tracks its limit of {Options.MaxPeers} peers.");
        await responses.WriteAsync(PeerWire.Hello(LocalNode, AdvertisedAddress, NetworkId), linked.Token).ConfigureAwait(false);
        link.Counters.InboundOpened();
        LogInboundAccepted(_logger, check.Node, check.Address, context.Peer);
        try
        {
            while (await batches.MoveNextAsync().ConfigureAwait(false))
            {
                var batch = batches.Current;
                if (PeerWire.CheckBatch(batch, check.Node) is { } error)
                {
                    LogInboundRefused(_logger, context.Peer, error);
                    throw new GrpcException(GrpcStatusCode.InvalidArgument, error);
                }
                await AcceptFramesAsync(link, batch.Frames, linked.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            link.Counters.InboundClosed();
        }
    }

    private GrpcException StoppingStatus() => new(GrpcStatusCode.Unavailable, $"Node {LocalNode} is stopping.");

    /// <summary>An accepted stream, tracked so that disposal can wait for its handler to return.</summary>
    private sealed class InboundLink
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Done => _done.Task;

        public bool HelloReceived { get; set; }

        public void Complete() => _done.TrySetResult();
    }
}
