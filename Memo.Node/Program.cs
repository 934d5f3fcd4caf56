using System.Runtime.InteropServices;
using Memo.Node.Configuration;
using Memo.Node.Hosting;
using Microsoft.Extensions.Logging;

namespace Memo.Node;

/// <summary>Entry point of <c>dotnet Memo.Node.dll</c>: parse options, start the node, stop gracefully on SIGINT/SIGTERM
/// (without leaving the cluster), exit when the cluster ends the membership (0 after a leave, 4 when downed).</summary>
public static class Program
{
    /// <summary>Exit code when the arguments or the configuration are wrong.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Exit code when the node could not start (data folder in use, corrupt storage, port taken).</summary>
    public const int StartFailureExitCode = 3;

    /// <summary>Exit code when the cluster downed this node (a minority side of a partition, or <c>memo cluster down</c>).</summary>
    public const int DownedExitCode = 4;

    /// <summary>Starts a node; returns the process exit code.</summary>
    public static async Task<int> Main(string[] args)
    {
        MemoOptions options;
        switch (NodeCommandLine.Parse(args))
        {
            case NodeCommand.Help help:
                Console.WriteLine(help.Text);
                return 0;
            case NodeCommand.Version version:
                Console.WriteLine(version.Text);
                return 0;
            case NodeCommand.UsageError usage:
                Console.Error.WriteLine("error: " + usage.Text);
                return UsageExitCode;
            case NodeCommand.Run run:
                try
                {
                    options = run.LoadOptions();
                }
                catch (MemoConfigurationException e)
                {
                    Console.Error.WriteLine("error: " + e.Message);
                    return UsageExitCode;
                }
                break;
            default:
                return UsageExitCode;
        }

        using var loggerFactory = CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("Memo.Node");
        using var shutdown = new CancellationTokenSource();
        void RequestShutdown(PosixSignalContext context)
        {
            context.Cancel = true; // we stop in order ourselves
            shutdown.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestShutdown);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestShutdown);

        MemoNode node;
        try
        {
            node = await MemoNode.StartAsync(options, loggerFactory, shutdown.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogCritical(e, "The node could not start: {Reason}", e.Message);
            return StartFailureExitCode;
        }

        // Runs until SIGINT/SIGTERM (a stop, not a leave) or until the cluster ends this member (it left, or was downed).
        await ((Task)Task.WhenAny(Task.Delay(Timeout.Infinite, shutdown.Token), node.Exited)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!node.Exited.IsCompleted)
        {
            using var grace = new CancellationTokenSource(options.Node.ShutdownGracePeriod);
            await node.StopAsync(grace.Token).ConfigureAwait(false);
        }
        return await node.Exited.ConfigureAwait(false) == MemoNodeExit.Downed ? DownedExitCode : 0;
    }

    // Human-readable single-line logs by default; MEMO_LOG_FORMAT=json gives structured JSON lines. A line logged
    // inside a traced request carries its trace and span ids (a scope), so logs and traces join on the trace id.
    private static ILoggerFactory CreateLoggerFactory() => LoggerFactory.Create(builder =>
    {
        builder.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        var level = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("MEMO_LOG_LEVEL"), ignoreCase: true, out var parsed) ? parsed : LogLevel.Information;
        builder.SetMinimumLevel(level);
        builder.AddFilter("Microsoft", LogLevel.Warning);
        if (string.Equals(Environment.GetEnvironmentVariable("MEMO_LOG_FORMAT"), "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.AddJsonConsole(o =>
            {
                o.TimestampFormat = "O";
                o.IncludeScopes = true;
            });
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.IncludeScopes = true;
            });
        }
    });
}
