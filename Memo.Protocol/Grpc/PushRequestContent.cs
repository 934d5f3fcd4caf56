using System.Net;

namespace Memo.Protocol.Grpc;

/// <summary>
/// The body of a duplex call: HttpClient hands over the request stream when it starts sending, and the body ends
/// when the caller completes the request side (or the call is torn down).
/// </summary>
internal sealed class PushRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PushRequestContent() => GrpcRequestContent.SetGrpcContentType(this);

    /// <summary>Completes with the request stream once sending starts; faults or cancels if it never does.</summary>
    public Task<Stream> StreamTask => _stream.Task;

    /// <summary>Ends the request body (HTTP/2 END_STREAM).</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>Tears the request side down; pending and later writers see <paramref name="reason"/>.</summary>
    public void Abort(Exception reason)
    {
        _stream.TrySetException(reason);
        _completed.TrySetCanceled();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        using var registration = cancellationToken.UnsafeRegister(static state => ((TaskCompletionSource)state!).TrySetCanceled(), _completed);
        await _completed.Task.ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
