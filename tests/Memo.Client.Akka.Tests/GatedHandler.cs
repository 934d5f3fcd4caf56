namespace Memo.Client.Akka.Tests;

/// <summary>
/// An HTTP handler that holds every gRPC call at the door until the test opens it, so a test decides when calls
/// complete: calls stay in flight for exactly as long as the test needs, with no sleeps.
/// </summary>
internal sealed class GatedHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _arrivals = new(0);

    /// <summary>Lets every held call and every later one through.</summary>
    public void Open() => _gate.TrySetResult();

    /// <summary>Waits until one more call has reached the handler (so its actor has started it).</summary>
    public async Task CallArrivedAsync(TimeSpan timeout)
    {
        if (!await _arrivals.WaitAsync(timeout))
        {
            throw new TimeoutException($"No call reached the gated handler within {timeout}.");
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _arrivals.Release();
        await _gate.Task.WaitAsync(cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _arrivals.Dispose();
        }
        base.Dispose(disposing);
    }
}
