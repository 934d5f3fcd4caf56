using System.Net;
using Google.Protobuf;

namespace Memo.Protocol.Grpc;

/// <summary>
/// The body of a client-streaming call: pulls messages from the caller's async sequence and writes each one,
/// flushing only when the sequence has nothing ready (so bursts go out in few frames). A failure of the
/// sequence itself is kept in <see cref="SourceFailure"/> so the call rethrows it rather than a transport error.
/// </summary>
internal sealed class EnumerableRequestContent<T> : HttpContent
    where T : class, IMessage<T>
{
    private readonly IAsyncEnumerable<T> _source;
    private readonly int _maxSendSize;
    private readonly CancellationToken _callToken;

    public EnumerableRequestContent(IAsyncEnumerable<T> source, int maxSendSize, CancellationToken callToken)
    {
        _source = source;
        _maxSendSize = maxSendSize;
        _callToken = callToken;
        GrpcRequestContent.SetGrpcContentType(this);
    }

    public Exception? SourceFailure { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var enumerator = _source.GetAsyncEnumerator(_callToken);
        try
        {
            while (true)
            {
                var next = MoveNext(enumerator);
                if (!next.IsCompleted)
                {
                    await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                if (!await next.ConfigureAwait(false))
                {
                    break;
                }
                var message = enumerator.Current ?? throw Fail(new InvalidOperationException("A request sequence yielded null."));
                await GrpcRequestContent.WriteMessageAsync(stream, message, _maxSendSize, flush: false, cancellationToken).ConfigureAwait(false);
            }
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (GrpcException ex)
        {
            SourceFailure ??= ex;
            throw;
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    private ValueTask<bool> MoveNext(IAsyncEnumerator<T> enumerator)
    {
        try
        {
            var next = enumerator.MoveNextAsync();
            return next.IsCompleted ? next : Observe(next);
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    private async ValueTask<bool> Observe(ValueTask<bool> next)
    {
        try
        {
            return await next.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    private Exception Fail(Exception ex)
    {
        SourceFailure ??= ex;
        return ex;
    }
}
