using Grpc.Core;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Tests.Client;

/// <summary>memo.vs whose Fetch answers whatever the test scripts (a genuine block, a forged one, nothing).</summary>
internal sealed class FakeValueStore : ValueStore.ValueStore.ValueStoreBase
{
    /// <summary>The answer to Fetch; NOT_FOUND when unset.</summary>
    public Func<FetchRequest, FetchResponse>? Answer { get; set; }

    public override Task<FetchResponse> Fetch(FetchRequest request, ServerCallContext context) =>
        Answer is { } answer
            ? Task.FromResult(answer(request))
            : throw new RpcException(new Status(StatusCode.NotFound, "No such block."));
}
