using Memo.Protocol.Grpc;

namespace Memo.Cli;

/// <summary>
/// The process exit codes of <c>memo</c>. They are part of the CLI's contract with scripts: never renumber one.
/// </summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command line is wrong: unknown command or option, missing or malformed argument, unreadable input file.</summary>
    public const int Usage = 1;

    /// <summary>No node answered at the address given (connection refused, unknown host, node unavailable).</summary>
    public const int Unreachable = 2;

    /// <summary>The key or block does not exist.</summary>
    public const int NotFound = 3;

    /// <summary>The key already exists (insert) or a version race was lost (block update).</summary>
    public const int Conflict = 4;

    /// <summary>The node refused the request: permission denied, or the data or block is invalid.</summary>
    public const int Rejected = 5;

    /// <summary>The call did not complete within <c>--timeout</c>.</summary>
    public const int Timeout = 6;

    /// <summary>Anything else: an internal error on the node, an unexpected answer, a bug.</summary>
    public const int Other = 10;

    /// <summary>The exit-code table as shown at the end of <c>memo --help</c>.</summary>
    public const string HelpText =
        """
        Exit codes:
          0   ok
          1   usage error (bad command line, unreadable input)
          2   node not reachable
          3   not found
          4   conflict / already exists
          5   permission denied / invalid data
          6   timeout
          10  other error
        """;

    /// <summary>The exit code for a gRPC status returned by a node.</summary>
    public static int FromStatus(GrpcStatusCode status) => status switch
    {
        GrpcStatusCode.OK => Ok,
        GrpcStatusCode.Unavailable => Unreachable,
        GrpcStatusCode.NotFound => NotFound,
        GrpcStatusCode.AlreadyExists or GrpcStatusCode.Aborted or GrpcStatusCode.FailedPrecondition => Conflict,
        GrpcStatusCode.PermissionDenied or GrpcStatusCode.Unauthenticated or GrpcStatusCode.InvalidArgument
            or GrpcStatusCode.OutOfRange or GrpcStatusCode.DataLoss => Rejected,
        GrpcStatusCode.DeadlineExceeded => Timeout,
        _ => Other,
    };
}
