using System.Text;
using Google.Protobuf;
using Memo.Node.Api.Grpc;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;

namespace Memo.Node.Tests.Api.Grpc;

/// <summary>
/// A test service, "test.Echo", built from the memo.kvs messages: FetchRequest.key in, FetchResponse.value out.
/// Handlers that need to coordinate with a test expose barriers instead of sleeping.
/// </summary>
internal sealed class TestEchoService
{
    public const string ServiceName = "test.Echo";

    public static readonly GrpcMethod<FetchRequest, FetchResponse> Echo = Unary("Echo");
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Fail = Unary("Fail");
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Crash = Unary("Crash");
    public static readonly GrpcMethod<FetchRequest, FetchResponse> WaitForCancel = Unary("WaitForCancel");
    public static readonly GrpcMethod<FetchRequest, FetchResponse> OutliveDeadline = Unary("OutliveDeadline");
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Big = Unary("Big");
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Gate = Unary("Gate");
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Count =
        new(ServiceName, "Range", GrpcMethodKind.ServerStreaming, FetchRequest.Parser, FetchResponse.Parser);
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Endless =
        new(ServiceName, "Endless", GrpcMethodKind.ServerStreaming, FetchRequest.Parser, FetchResponse.Parser);
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Concat =
        new(ServiceName, "Concat", GrpcMethodKind.ClientStreaming, FetchRequest.Parser, FetchResponse.Parser);
    public static readonly GrpcMethod<FetchRequest, FetchResponse> Chat =
        new(ServiceName, "Chat", GrpcMethodKind.DuplexStreaming, FetchRequest.Parser, FetchResponse.Parser);

    /// <summary>Completes when WaitForCancel / OutliveDeadline / Endless start.</summary>
    public TaskCompletionSource<GrpcCallContext> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a waiting handler's token is cancelled.</summary>
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Released by the test to let the Gate handler answer.</summary>
    public TaskCompletionSource GateOpen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Register(GrpcServiceRegistry registry)
    {
        registry
            .AddUnary(Echo, (request, _) => ValueTask.FromResult(Reply(request.Key)))
            .AddUnary(Fail, (request, context) =>
            {
                context.AddResponseTrailer("x-detail", "from-handler");
                throw new GrpcException(GrpcStatusCode.NotFound, request.Key);
            })
            .AddUnary<FetchRequest, FetchResponse>(Crash, (_, _) => throw new InvalidOperationException("secret internal detail"))
            .AddUnary(WaitForCancel, async (request, context) =>
            {
                Started.TrySetResult(context);
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Cancelled.TrySetResult();
                    throw;
                }
                return Reply(request.Key);
            })
            .AddUnary(OutliveDeadline, async (request, context) =>
            {
                // Ignores the token for its work, but returns only after the deadline fired.
                Started.TrySetResult(context);
                var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using (context.CancellationToken.Register(() => fired.TrySetResult()))
                {
                    await fired.Task;
                }
                Cancelled.TrySetResult();
                return Reply("too late");
            })
            .AddUnary(Big, (request, _) => ValueTask.FromResult(new FetchResponse { Value = ByteString.CopyFrom(new byte[int.Parse(request.Key)]) }))
            .AddUnary(Gate, async (request, context) =>
            {
                Started.TrySetResult(context);
                await GateOpen.Task;
                return Reply(request.Key);
            })
            .AddServerStreaming(Count, async (request, writer, _) =>
            {
                int count = int.Parse(request.Key);
                for (int i = 0; i < count; i++)
                {
                    await writer.WriteAsync(Reply(i.ToString()));
                }
            })
            .AddServerStreaming(Endless, async (request, writer, context) =>
            {
                try
                {
                    await writer.WriteAsync(Reply("first"));
                    Started.TrySetResult(context);
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Cancelled.TrySetResult();
                    throw;
                }
            })
            .AddClientStreaming(Concat, async (requests, _) =>
            {
                var sb = new StringBuilder();
                await foreach (var request in requests)
                {
                    sb.Append(request.Key).Append(';');
                }
                return Reply(sb.ToString());
            })
            .AddDuplexStreaming(Chat, async (requests, writer, _) =>
            {
                await foreach (var request in requests)
                {
                    await writer.WriteAsync(Reply("re:" + request.Key));
                }
                await writer.WriteAsync(Reply("bye"));
            });
    }

    public static FetchResponse Reply(string text) => new() { Value = ByteString.CopyFromUtf8(text) };

    public static FetchRequest Request(string key) => new() { Key = key };

    private static GrpcMethod<FetchRequest, FetchResponse> Unary(string name) =>
        new(ServiceName, name, GrpcMethodKind.Unary, FetchRequest.Parser, FetchResponse.Parser);
}
