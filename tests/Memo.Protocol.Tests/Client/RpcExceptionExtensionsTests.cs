using Grpc.Core;
using Memo.Protocol.Client;
using GrpcStatusCode = Memo.Protocol.Grpc.GrpcStatusCode;

namespace Memo.Protocol.Tests.Client;

/// <summary>The RpcException to GrpcException mapping every client call goes through.</summary>
public sealed class RpcExceptionExtensionsTests
{
    [Fact]
    public void Both_status_enums_have_the_same_names_for_the_same_numbers()
    {
        Assert.Equal(
            Enum.GetValues<StatusCode>().Select(s => ((int)s, s.ToString())),
            Enum.GetValues<GrpcStatusCode>().Select(s => ((int)s, s.ToString())));
    }

    [Fact]
    public void Every_failure_status_keeps_its_code_and_its_detail_with_the_RpcException_inside()
    {
        foreach (var status in Enum.GetValues<StatusCode>().Where(s => s != StatusCode.OK))
        {
            var rpc = new RpcException(new Status(status, "detail of " + status));

            var ex = rpc.ToGrpcException();

            Assert.Equal((int)status, (int)ex.Status);
            Assert.Equal("detail of " + status, ex.Message);
            Assert.Same(rpc, ex.InnerException);
        }
    }

    [Fact]
    public void The_local_cause_stays_reachable_through_the_RpcException()
    {
        var cause = new IOException("connection reset");
        var ex = new RpcException(new Status(StatusCode.Unavailable, "Error starting gRPC call.", cause)).ToGrpcException();

        Assert.Same(cause, ex.GetBaseException());
    }

    [Fact]
    public void An_empty_detail_falls_back_to_the_status_name()
    {
        Assert.Equal("NotFound", new RpcException(new Status(StatusCode.NotFound, "")).ToGrpcException().Message);
    }

    [Fact]
    public void A_failure_claiming_OK_is_Internal()
    {
        Assert.Equal(GrpcStatusCode.Internal, new RpcException(Status.DefaultSuccess).ToGrpcException().Status);
    }

    [Fact]
    public void Trailers_are_kept_with_binary_values_in_base64_and_none_is_null()
    {
        var trailers = new Metadata { { "x-shard", "7" }, { "x-proof-bin", new byte[] { 1, 2, 3 } } };

        var ex = new RpcException(new Status(StatusCode.Aborted, "retry"), trailers).ToGrpcException();

        Assert.Equal([new("x-shard", "7"), new("x-proof-bin", "AQID")], ex.Trailers!);
        Assert.Null(new RpcException(new Status(StatusCode.Aborted, "retry")).ToGrpcException().Trailers);
    }
}
