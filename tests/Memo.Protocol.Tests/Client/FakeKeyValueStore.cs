using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Memo.Protocol.Kvs;

namespace Memo.Protocol.Tests.Client;

/// <summary>memo.kvs over a dictionary, with a hook that runs first in every call to fail it, hold it, or watch it.</summary>
internal sealed class FakeKeyValueStore : KeyValueStore.KeyValueStoreBase
{
    private readonly ConcurrentDictionary<string, ByteString> _values = new(StringComparer.Ordinal);
    private int _calls;

    /// <summary>Runs at the start of every call: throw an <see cref="RpcException"/> to answer with its status, or wait to hold the call.</summary>
    public Func<ServerCallContext, Task>? Intercept { get; set; }

    /// <summary>How many calls reached the service.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>The deadline the last call arrived with (<see cref="DateTime.MaxValue"/> for none).</summary>
    public DateTime LastDeadline { get; private set; }

    public void Put(string key, byte[] value) => _values[key] = ByteString.CopyFrom(value);

    public byte[]? Value(string key) => _values.TryGetValue(key, out var value) ? value.ToByteArray() : null;

    public override async Task<InsertResponse> Insert(InsertRequest request, ServerCallContext context)
    {
        await EnterAsync(context);
        return _values.TryAdd(request.Key, request.Value) ? new InsertResponse() : throw Status(StatusCode.AlreadyExists, $"Key '{request.Key}' exists.");
    }

    public override async Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context)
    {
        await EnterAsync(context);
        if (!_values.TryGetValue(request.Key, out var old) || !_values.TryUpdate(request.Key, request.Value, old))
        {
            throw Status(StatusCode.NotFound, $"No key '{request.Key}'.");
        }
        return new UpdateResponse();
    }

    public override async Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context)
    {
        await EnterAsync(context);
        _values[request.Key] = request.Value;
        return new UpsertResponse();
    }

    public override async Task<FetchResponse> Fetch(FetchRequest request, ServerCallContext context)
    {
        await EnterAsync(context);
        return _values.TryGetValue(request.Key, out var value) ? new FetchResponse { Value = value } : throw Status(StatusCode.NotFound, $"No key '{request.Key}'.");
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        await EnterAsync(context);
        return _values.TryRemove(request.Key, out _) ? new DeleteResponse() : throw Status(StatusCode.NotFound, $"No key '{request.Key}'.");
    }

    public override async Task<ListResponse> List(ListRequest request, ServerCallContext context)
    {
        await EnterAsync(context);
        var response = new ListResponse();
        response.Items.AddRange(_values.Keys
            .Where(k => k.StartsWith(request.Prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(k => new ListItem { Key = k }));
        return response;
    }

    private async Task EnterAsync(ServerCallContext context)
    {
        Interlocked.Increment(ref _calls);
        LastDeadline = context.Deadline;
        if (Intercept is { } intercept)
        {
            await intercept(context);
        }
    }

    private static RpcException Status(StatusCode code, string detail) => new(new Status(code, detail));
}
