using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;
using Memo.Admin;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;

namespace Memo.Cli.Output;

/// <summary>Turns the exceptions a call can end with into one exit code and one line of text.</summary>
internal static class Errors
{
    /// <summary>
    /// Classifies a failed call to <paramref name="node"/>. <paramref name="cancelledByUser"/> tells a Ctrl-C apart from
    /// a client-side timeout, since both surface as <see cref="OperationCanceledException"/>.
    /// </summary>
    public static Failure FromException(Exception exception, string node, TimeSpan timeout, bool cancelledByUser)
    {
        if (cancelledByUser && exception is OperationCanceledException)
        {
            return new Failure(ExitCodes.Other, "cancelled", nameof(GrpcStatusCode.Cancelled));
        }
        // A CA, certificate or key file named by --ca, --cert or --key that cannot be used.
        if (exception is Memo.Protocol.Security.CertificateFileException certificate)
        {
            return new Failure(ExitCodes.Usage, Describe(certificate), null);
        }
        // A user, key or passport of the config folder that is missing or unreadable (--as, memo user, memo passport).
        if (exception is Memo.Cli.Users.UserStoreException user)
        {
            return new Failure(ExitCodes.Usage, Describe(user), null);
        }
        // The bench targets call through generated clients, which throw RpcException; classify it as MemoClient would.
        if (exception is RpcException rpc)
        {
            exception = rpc.ToGrpcException();
        }
        if (exception is GrpcException grpc)
        {
            return grpc.Status switch
            {
                GrpcStatusCode.Unavailable => Unreachable(node, Innermost(grpc), grpc.Status.ToString()),
                GrpcStatusCode.DeadlineExceeded => TimedOut(node, timeout),
                _ => new Failure(ExitCodes.FromStatus(grpc.Status), Describe(grpc), grpc.Status.ToString()),
            };
        }
        // memo cluster: the admin actor's error replies carry the gRPC status numbers the admin service answered with.
        if (exception is AdminException admin)
        {
            var status = (GrpcStatusCode)(int)admin.Code;
            return new Failure(ExitCodes.FromStatus(status), Describe(admin), status.ToString());
        }
        if (exception is AdminUnreachableException unreachable)
        {
            return new Failure(ExitCodes.Unreachable, Describe(unreachable), nameof(GrpcStatusCode.Unavailable));
        }
        if (FindConnectionFault(exception) is { } fault)
        {
            return Unreachable(node, fault, null);
        }
        if (exception is OperationCanceledException or TimeoutException)
        {
            return TimedOut(node, timeout);
        }
        return new Failure(ExitCodes.Other, $"{exception.GetType().Name}: {Describe(exception)}", null);
    }

    /// <summary>An exception's message as a clause: no trailing period, lower-case first letter unless it starts an acronym.</summary>
    public static string Describe(Exception exception)
    {
        var message = exception.Message.Trim();
        if (message.Length == 0)
        {
            return exception.GetType().Name;
        }
        message = message.ReplaceLineEndings(" ").TrimEnd('.');
        if (message.Length > 1 && char.IsUpper(message[0]) && !char.IsUpper(message[1]))
        {
            message = char.ToLowerInvariant(message[0]) + message[1..];
        }
        return message;
    }

    private static Failure Unreachable(string node, Exception cause, string? status) =>
        new(ExitCodes.Unreachable, $"node {node} is not reachable: {Describe(cause)}", status);

    private static Failure TimedOut(string node, TimeSpan timeout) =>
        new(ExitCodes.Timeout, $"node {node} did not answer within {Input.Duration.Format(timeout)}", nameof(GrpcStatusCode.DeadlineExceeded));

    // The socket error says what happened ("connection refused"); the wrappers around it only say "an error occurred".
    private static Exception Innermost(Exception exception)
    {
        var e = exception;
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }

    private static Exception? FindConnectionFault(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException)
            {
                return e;
            }
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                return Innermost(e);
            }
        }
        return null;
    }
}
