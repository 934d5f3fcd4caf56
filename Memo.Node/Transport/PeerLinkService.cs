using Grpc.Core;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// <c>memo.peer.PeerService</c> as a Grpc.AspNetCore service: every Link stream a peer dials is served by
/// the <see cref="GrpcPeerTransport"/> that owns this instance (<see cref="GrpcPeerTransport.Service"/>).
/// </summary>
/// <remarks>
/// One instance per transport, registered as a singleton so that Grpc.AspNetCore's activator hands every
/// call to it rather than constructing a new one. Accepted Link messages can be as large as the senders'
/// <see cref="PeerTransportOptions.MaxBatchWireBytes"/>, above Grpc.AspNetCore's 4 MiB default, so the
/// host raises <c>MaxReceiveMessageSize</c> for this service.
/// </remarks>
public sealed class PeerLinkService : PeerService.PeerServiceBase
{
    private readonly GrpcPeerTransport _transport;

    internal PeerLinkService(GrpcPeerTransport transport) => _transport = transport;

    /// <summary>
    /// Serves one accepted Link stream (see <see cref="GrpcPeerTransport"/>): the peer's hello within
    /// <see cref="PeerTransportOptions.HelloTimeout"/>, this node's hello back, then every frame to
    /// <see cref="GrpcPeerTransport.Inbound"/> until either side ends the stream.
    /// </summary>
    /// <exception cref="RpcException">The status the call ends with when the link is refused or cut short.</exception>
    public override Task Link(IAsyncStreamReader<PeerBatch> requestStream, IServerStreamWriter<PeerBatch> responseStream, ServerCallContext context) =>
        _transport.LinkAsync(requestStream, responseStream, context);
}
