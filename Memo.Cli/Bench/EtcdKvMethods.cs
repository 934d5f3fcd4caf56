using Memo.Cli.Bench.Etcd;
using Memo.Protocol.Grpc;

namespace Memo.Cli.Bench;

/// <summary>Descriptors of etcd's <c>etcdserverpb.KV</c> methods the bench calls.</summary>
internal static class EtcdKvMethods
{
    /// <summary>etcd's KV service name.</summary>
    public const string ServiceName = "etcdserverpb.KV";

    /// <summary><c>/etcdserverpb.KV/Range</c>.</summary>
    public static readonly GrpcMethod<RangeRequest, RangeResponse> Range =
        new(ServiceName, "Range", GrpcMethodKind.Unary, RangeRequest.Parser, RangeResponse.Parser);

    /// <summary><c>/etcdserverpb.KV/Put</c>.</summary>
    public static readonly GrpcMethod<PutRequest, PutResponse> Put =
        new(ServiceName, "Put", GrpcMethodKind.Unary, PutRequest.Parser, PutResponse.Parser);
}
