using Grpc.Core;

namespace Memo.Node.Api.Hosting;

/// <summary>The call context of <see cref="DefaultDeadlineInterceptor"/>: the real one with a deadline and a token of
/// the server's choosing; everything else (headers, trailers, status, the HttpContext in the user state) passes through.</summary>
internal sealed class DeadlineBoundCallContext(ServerCallContext inner, DateTime deadline, CancellationToken token) : ServerCallContext
{
    protected override string MethodCore => inner.Method;

    protected override string HostCore => inner.Host;

    protected override string PeerCore => inner.Peer;

    protected override DateTime DeadlineCore => deadline;

    protected override Metadata RequestHeadersCore => inner.RequestHeaders;

    protected override CancellationToken CancellationTokenCore => token;

    protected override Metadata ResponseTrailersCore => inner.ResponseTrailers;

    protected override Status StatusCore
    {
        get => inner.Status;
        set => inner.Status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    protected override AuthContext AuthContextCore => inner.AuthContext;

    protected override IDictionary<object, object> UserStateCore => inner.UserState;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        inner.CreatePropagationToken(options);

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) =>
        inner.WriteResponseHeadersAsync(responseHeaders);
}
