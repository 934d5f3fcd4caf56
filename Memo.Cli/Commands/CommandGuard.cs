using Memo.Cli.Output;

namespace Memo.Cli.Commands;

/// <summary>Runs a command's body and turns whatever it throws into an exit code and one error line.</summary>
internal static class CommandGuard
{
    /// <summary>
    /// Runs <paramref name="body"/>. Expected outcomes (not found, conflict) are returned by the body itself; this only
    /// catches faults: an unreachable node, a gRPC error status, a timeout, a bug.
    /// </summary>
    public static async Task<int> RunAsync(CliIo io, ConnectionSettings settings, Func<Reporter, Task<int>> body, CancellationToken cancellationToken)
    {
        var reporter = new Reporter(io, settings.Json);
        try
        {
            return await body(reporter).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return reporter.Fail(Errors.FromException(e, settings.Node, settings.Timeout, cancellationToken.IsCancellationRequested));
        }
    }
}
