using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Api.Grpc;

/// <summary>A registered method: reads its requests, runs its handler, writes its responses. The status is the dispatcher's job.</summary>
internal abstract class GrpcServerMethod(string serviceName, string fullName, GrpcMethodKind kind)
{
    public string ServiceName { get; } = serviceName;

    public string FullName { get; } = fullName;

    public GrpcMethodKind Kind { get; } = kind;

    /// <summary>Runs the call up to (not including) its status; throws <see cref="GrpcException"/> for a non-OK one.</summary>
    public abstract Task InvokeAsync(GrpcCallContext call, int maxReceiveMessageSize);
}
