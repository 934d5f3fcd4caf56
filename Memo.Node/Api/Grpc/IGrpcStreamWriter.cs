namespace Memo.Node.Api.Grpc;

/// <summary>Writes the response messages of a server-streaming or duplex call, one at a time.</summary>
/// <typeparam name="T">The response message type.</typeparam>
public interface IGrpcStreamWriter<in T>
{
    /// <summary>
    /// Sends one message and flushes it to the client; completes when the transport accepted it (HTTP/2 flow
    /// control is the back-pressure). Await each write before the next; a write after the handler returned, or
    /// concurrent with another, throws <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException">The call was cancelled or its deadline passed.</exception>
    ValueTask WriteAsync(T message, CancellationToken cancellationToken = default);
}
