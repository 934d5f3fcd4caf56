using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;
using Memo.Admin;
using Memo.Admin.Wire;
using Memo.Cli;
using Memo.Cli.Output;
using Memo.Protocol.Grpc;

namespace Memo.Node.Tests.Cli;

public class ExitCodeTests
{
    private const string Node = "127.0.0.1:5090";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(GrpcStatusCode.OK, ExitCodes.Ok)]
    [InlineData(GrpcStatusCode.Unavailable, ExitCodes.Unreachable)]
    [InlineData(GrpcStatusCode.NotFound, ExitCodes.NotFound)]
    [InlineData(GrpcStatusCode.AlreadyExists, ExitCodes.Conflict)]
    [InlineData(GrpcStatusCode.Aborted, ExitCodes.Conflict)]
    [InlineData(GrpcStatusCode.FailedPrecondition, ExitCodes.Conflict)]
    [InlineData(GrpcStatusCode.PermissionDenied, ExitCodes.Rejected)]
    [InlineData(GrpcStatusCode.Unauthenticated, ExitCodes.Rejected)]
    [InlineData(GrpcStatusCode.InvalidArgument, ExitCodes.Rejected)]
    [InlineData(GrpcStatusCode.OutOfRange, ExitCodes.Rejected)]
    [InlineData(GrpcStatusCode.DataLoss, ExitCodes.Rejected)]
    [InlineData(GrpcStatusCode.DeadlineExceeded, ExitCodes.Timeout)]
    [InlineData(GrpcStatusCode.Internal, ExitCodes.Other)]
    [InlineData(GrpcStatusCode.Unknown, ExitCodes.Other)]
    [InlineData(GrpcStatusCode.Unimplemented, ExitCodes.Other)]
    [InlineData(GrpcStatusCode.ResourceExhausted, ExitCodes.Other)]
    [InlineData(GrpcStatusCode.Cancelled, ExitCodes.Other)]
    public void Each_gRPC_status_maps_to_its_exit_code(GrpcStatusCode status, int exitCode)
    {
        Assert.Equal(exitCode, ExitCodes.FromStatus(status));
    }

    [Fact]
    public void Every_gRPC_status_has_an_exit_code_from_the_documented_set()
    {
        int[] documented = [0, 1, 2, 3, 4, 5, 6, 10];
        foreach (var status in Enum.GetValues<GrpcStatusCode>())
        {
            Assert.Contains(ExitCodes.FromStatus(status), documented);
        }
    }

    [Fact]
    public void A_refused_connection_is_unreachable_with_the_socket_error_in_one_line()
    {
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:5090)", new SocketException((int)SocketError.ConnectionRefused));
        var failure = Errors.FromException(refused, Node, Timeout, cancelledByUser: false);
        Assert.Equal(ExitCodes.Unreachable, failure.ExitCode);
        Assert.Equal("node 127.0.0.1:5090 is not reachable: connection refused", failure.Message);
    }

    [Fact]
    public void A_bare_socket_exception_is_unreachable()
    {
        var failure = Errors.FromException(new SocketException((int)SocketError.HostUnreachable), Node, Timeout, cancelledByUser: false);
        Assert.Equal(ExitCodes.Unreachable, failure.ExitCode);
        Assert.StartsWith("node 127.0.0.1:5090 is not reachable: ", failure.Message);
    }

    [Theory]
    [InlineData(AdminErrorCode.NotFound, ExitCodes.NotFound, "NotFound")]
    [InlineData(AdminErrorCode.FailedPrecondition, ExitCodes.Conflict, "FailedPrecondition")]
    [InlineData(AdminErrorCode.Unavailable, ExitCodes.Unreachable, "Unavailable")]
    [InlineData(AdminErrorCode.InvalidArgument, ExitCodes.Rejected, "InvalidArgument")]
    [InlineData(AdminErrorCode.Internal, ExitCodes.Other, "Internal")]
    public void An_admin_error_reply_maps_like_the_gRPC_status_of_the_same_number(AdminErrorCode code, int exitCode, string status)
    {
        var failure = Errors.FromException(new AdminException(code, "No member has id or address 'x'"), Node, Timeout, cancelledByUser: false);

        Assert.Equal(new Failure(exitCode, "no member has id or address 'x'", status), failure);
    }

    [Fact]
    public void An_unreachable_admin_endpoint_exits_2_with_its_own_message()
    {
        var failure = Errors.FromException(new AdminUnreachableException("node 127.0.0.1:5091 is not reachable over Akka remoting: connection refused"), "127.0.0.1:5091", Timeout, cancelledByUser: false);

        Assert.Equal(new Failure(ExitCodes.Unreachable, "node 127.0.0.1:5091 is not reachable over Akka remoting: connection refused", "Unavailable"), failure);
    }

    [Fact]
    public void An_unavailable_status_is_unreachable()
    {
        var failure = Errors.FromException(new GrpcException(GrpcStatusCode.Unavailable, "No leader for shard 3."), Node, Timeout, cancelledByUser: false);
        Assert.Equal(new Failure(ExitCodes.Unreachable, "node 127.0.0.1:5090 is not reachable: no leader for shard 3", "Unavailable"), failure);
    }

    [Fact]
    public void A_status_error_keeps_the_node_message_and_the_status_name()
    {
        var failure = Errors.FromException(new GrpcException(GrpcStatusCode.PermissionDenied, "Signature does not verify."), Node, Timeout, cancelledByUser: false);
        Assert.Equal(new Failure(ExitCodes.Rejected, "signature does not verify", "PermissionDenied"), failure);
    }

    [Fact]
    public void An_RpcException_from_a_generated_client_is_classified_by_its_status_like_a_GrpcException()
    {
        var rejected = Errors.FromException(new RpcException(new Status(StatusCode.PermissionDenied, "Signature does not verify.")), Node, Timeout, cancelledByUser: false);
        Assert.Equal(new Failure(ExitCodes.Rejected, "signature does not verify", "PermissionDenied"), rejected);

        var refused = new RpcException(new Status(StatusCode.Unavailable, "Error connecting to subchannel.", new SocketException((int)SocketError.ConnectionRefused)));
        var unreachable = Errors.FromException(refused, Node, Timeout, cancelledByUser: false);
        Assert.Equal(ExitCodes.Unreachable, unreachable.ExitCode);
        Assert.Equal("node 127.0.0.1:5090 is not reachable: connection refused", unreachable.Message);

        var deadline = Errors.FromException(new RpcException(new Status(StatusCode.DeadlineExceeded, "")), Node, TimeSpan.FromSeconds(2), cancelledByUser: false);
        Assert.Equal(new Failure(ExitCodes.Timeout, "node 127.0.0.1:5090 did not answer within 2s", "DeadlineExceeded"), deadline);
    }

    [Fact]
    public void Deadline_exceeded_and_client_side_cancellation_are_timeouts()
    {
        var deadline = Errors.FromException(new GrpcException(GrpcStatusCode.DeadlineExceeded, "Deadline exceeded"), Node, TimeSpan.FromMilliseconds(500), cancelledByUser: false);
        Assert.Equal(new Failure(ExitCodes.Timeout, "node 127.0.0.1:5090 did not answer within 500ms", "DeadlineExceeded"), deadline);
        var cancelled = Errors.FromException(new TaskCanceledException(), Node, TimeSpan.FromSeconds(2), cancelledByUser: false);
        Assert.Equal(ExitCodes.Timeout, cancelled.ExitCode);
    }

    [Fact]
    public void Ctrl_C_is_not_a_timeout()
    {
        var failure = Errors.FromException(new OperationCanceledException(), Node, Timeout, cancelledByUser: true);
        Assert.Equal(ExitCodes.Other, failure.ExitCode);
        Assert.Equal("cancelled", failure.Message);
    }

    [Fact]
    public void Anything_else_is_other_and_names_the_exception()
    {
        var failure = Errors.FromException(new InvalidOperationException("Bad state."), Node, Timeout, cancelledByUser: false);
        Assert.Equal(new Failure(ExitCodes.Other, "InvalidOperationException: bad state", null), failure);
    }

    [Fact]
    public void Describe_keeps_acronyms_and_drops_the_final_period()
    {
        Assert.Equal("TLS handshake failed", Errors.Describe(new IOException("TLS handshake failed.")));
        Assert.Equal("connection reset by peer", Errors.Describe(new IOException("Connection reset\nby peer.")));
    }

    [Fact]
    public void A_json_error_is_one_object_on_stderr()
    {
        var io = new FakeIo();
        var code = new Reporter(io.Io, json: true).Fail(new Failure(ExitCodes.NotFound, "key 'a\"b' not found", "NotFound"));
        Assert.Equal(3, code);
        Assert.Equal("{\"error\":{\"exitCode\":3,\"status\":\"NotFound\",\"message\":\"key 'a\\\"b' not found\"}}" + Environment.NewLine, io.Err.ToString());
        Assert.Equal("", io.Out.ToString());
    }

    [Fact]
    public void A_human_error_is_one_line_on_stderr()
    {
        var io = new FakeIo();
        new Reporter(io.Io, json: false).Fail(ExitCodes.Conflict, "key 'a' already exists");
        Assert.Equal("error: key 'a' already exists" + Environment.NewLine, io.Err.ToString());
    }
}
