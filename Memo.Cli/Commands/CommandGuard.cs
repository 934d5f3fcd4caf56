using Memo.Admin;
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

    /// <summary>
    /// Runs a <c>memo cluster</c> command's <paramref name="body"/> with an <see cref="AdminClient"/> for the node's
    /// remoting endpoint, and turns what it throws into an exit code and one error line, as <see cref="RunAsync"/> does.
    /// The client's ActorSystem is terminated before this returns, whatever happened.
    /// </summary>
    public static async Task<int> RunAdminAsync(CliIo io, AdminSettings settings, Func<AdminClient, Task<int>> body, CancellationToken cancellationToken)
    {
        var reporter = new Reporter(io, settings.Json);
        if (!settings.TryGetEndpoint(out var endpoint, out var problem))
        {
            return reporter.Fail(ExitCodes.Usage, problem!);
        }
        AdminClient? client = null;
        Memo.Admin.AdminTls? tls = null;
        try
        {
            tls = settings.LoadTls(out problem);
            if (problem is not null)
            {
                return reporter.Fail(ExitCodes.Usage, problem);
            }
            client = AdminClient.Start(endpoint!, settings.Timeout, tls);
            return await body(client).ConfigureAwait(false);
        }
        catch (AdminUnreachableException e) when (tls is null && e.Message.Contains("disassociated", StringComparison.Ordinal))
        {
            // A plaintext client at a node whose remoting speaks TLS sees only a closed association.
            return reporter.Fail(Errors.FromException(new AdminUnreachableException(
                e.Message.TrimEnd('.', '?') + " (a node whose remoting uses TLS needs --ca, --cert and --key: an administrator certificate from its network CA)", e),
                settings.Target, settings.Timeout, cancellationToken.IsCancellationRequested));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return reporter.Fail(Errors.FromException(e, settings.Target, settings.Timeout, cancellationToken.IsCancellationRequested));
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
