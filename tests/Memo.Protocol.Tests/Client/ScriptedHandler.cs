using System.Net;

namespace Memo.Protocol.Tests.Client;

/// <summary>An HTTP handler that answers every request with a trailers-only gRPC status, recording what it saw.</summary>
internal sealed class ScriptedHandler(int grpcStatus, string grpcMessage) : HttpMessageHandler
{
    public HttpRequestMessage? LastRequest { get; private set; }

    public bool Disposed { get; private set; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        LastRequest = request;
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, Content = new ByteArrayContent([]) };
        response.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        response.Headers.TryAddWithoutValidation("grpc-status", grpcStatus.ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.Headers.TryAddWithoutValidation("grpc-message", grpcMessage);
        return Task.FromResult(response);
    }

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }
}
