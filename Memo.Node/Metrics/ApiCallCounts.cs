namespace Memo.Node.Metrics;

/// <summary>
/// This node's gRPC calls so far, all methods together: what the dashboard turns into a request rate by taking the
/// difference between two reads. Counted with interlocked adds by the API server's metrics middleware.
/// </summary>
public sealed class ApiCallCounts
{
    private long _calls;
    private long _failures;

    /// <summary>Calls that ended, whatever their status.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Calls that ended with a status other than OK, NOT_FOUND or ALREADY_EXISTS (outcomes a client expects).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Counts one finished call with its gRPC status code.</summary>
    public void Record(int grpcStatus)
    {
        Interlocked.Increment(ref _calls);
        // 5 NOT_FOUND and 6 ALREADY_EXISTS answer a get of a missing key or an insert of an existing one.
        if (grpcStatus is not (0 or 5 or 6))
        {
            Interlocked.Increment(ref _failures);
        }
    }
}
