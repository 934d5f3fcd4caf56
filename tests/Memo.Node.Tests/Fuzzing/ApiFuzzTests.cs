using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Memo.Protocol.Kvs;
using Memo.Protocol.ValueStore;
using Memo.Testing;
using Xunit.Abstractions;
using KvDeleteRequest = Memo.Protocol.Kvs.DeleteRequest;
using KvFetchRequest = Memo.Protocol.Kvs.FetchRequest;
using KvInsertRequest = Memo.Protocol.Kvs.InsertRequest;
using KvUpdateRequest = Memo.Protocol.Kvs.UpdateRequest;
using VsFetchRequest = Memo.Protocol.ValueStore.FetchRequest;

namespace Memo.Node.Tests.Fuzzing;

/// <summary>
/// Fuzzing of the public gRPC API: every method of <c>memo.kvs</c> and <c>memo.vs</c> (taken from the service
/// descriptors, so a new method without an entry in <see cref="AllowedStatuses"/> fails the test) is fed requests
/// mutated from valid ones, structure-aware (<see cref="ProtobufMutator.MutateStructure"/>) and as raw bytes
/// (<see cref="ProtobufMutator.MutateBytes"/>), by four concurrent clients for a bounded time:
/// <c>MEMO_FUZZ_SECONDS</c> (30 by default, the CI slice; longer locally). Only the statuses listed for the method
/// may come back, and after every batch of 50 calls a probe checks the node still serves (health SERVING, an upsert
/// read back). Also: List with maxKeys = 2^64-1, invalid UTF-8 in every string field on the wire, and a flood of
/// 1,000 concurrent streams. The seed is printed; <c>MEMO_FUZZ_SEED</c> replays the inputs (their interleaving
/// across the four clients still varies).
/// </summary>
public sealed class ApiFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int BatchSize = 50;
    private const int Workers = 4;

    // A status message echoes at most a bounded part of the request: grpc-message travels in the trailers, and
    // clients refuse response headers over 64 KiB (one such response aborts the whole HTTP/2 connection).
    private const int MaxDetailChars = 8192;

    // Statuses that are defined outcomes, per method: what the service answers for a bad or refused request, plus
    // RESOURCE_EXHAUSTED (request over the size or buffering limits) everywhere. INTERNAL, UNKNOWN, DATA_LOSS,
    // UNAVAILABLE and DEADLINE_EXCEEDED are not: on a healthy single node they mean a handler failed or stopped serving.
    private static readonly StatusCode[] Refusals = [StatusCode.OK, StatusCode.InvalidArgument, StatusCode.ResourceExhausted];

    internal static readonly IReadOnlyDictionary<string, StatusCode[]> AllowedStatuses = new Dictionary<string, StatusCode[]>
    {
        ["memo.kvs.KeyValueStore/Insert"] = [.. Refusals, StatusCode.AlreadyExists],
        ["memo.kvs.KeyValueStore/Update"] = [.. Refusals, StatusCode.NotFound],
        ["memo.kvs.KeyValueStore/Upsert"] = Refusals,
        ["memo.kvs.KeyValueStore/Fetch"] = [.. Refusals, StatusCode.NotFound],
        ["memo.kvs.KeyValueStore/Delete"] = [.. Refusals, StatusCode.NotFound],
        ["memo.kvs.KeyValueStore/List"] = Refusals,
        ["memo.kvs.KeyValueStore/ListVersions"] = [.. Refusals, StatusCode.NotFound],
        ["memo.vs.ValueStore/MakeImmutableBlock"] = Refusals,
        ["memo.vs.ValueStore/MakeMutableBlock"] = Refusals,
        ["memo.vs.ValueStore/MakeNamedBlock"] = Refusals,
        ["memo.vs.ValueStore/NamedBlockAddress"] = Refusals,
        ["memo.vs.ValueStore/Fetch"] = [.. Refusals, StatusCode.NotFound],
        ["memo.vs.ValueStore/Insert"] = [.. Refusals, StatusCode.AlreadyExists, StatusCode.PermissionDenied],
        ["memo.vs.ValueStore/InsertImmutableBlock"] = [.. Refusals, StatusCode.AlreadyExists, StatusCode.PermissionDenied],
        ["memo.vs.ValueStore/InsertMutableBlock"] = [.. Refusals, StatusCode.AlreadyExists, StatusCode.PermissionDenied],
        ["memo.vs.ValueStore/Update"] = [.. Refusals, StatusCode.NotFound, StatusCode.PermissionDenied, StatusCode.Aborted],
        ["memo.vs.ValueStore/Delete"] = [.. Refusals, StatusCode.NotFound, StatusCode.PermissionDenied],
        ["memo.vs.ValueStore/ListVersions"] = [.. Refusals, StatusCode.NotFound],
    };

    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(bytes => bytes, bytes => bytes);

    private TestNode _node = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        // Several versions kept, so mutated Fetch versions and ListVersions meet entries with a history.
        _node = await TestNode.StartAsync(["memo.shards.count = 4", "memo.network.versions = 4"]);
        _channel = GrpcChannel.ForAddress("http://" + _node.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _node.DisposeAsync();
    }

    private static IEnumerable<MethodDescriptor> PublicMethods =>
        KeyValueStore.Descriptor.Methods.Concat(Memo.Protocol.ValueStore.ValueStore.Descriptor.Methods);

    private static string FullName(MethodDescriptor method) => $"{method.Service.FullName}/{method.Name}";

    [Fact]
    public async Task Mutated_requests_to_every_public_method_get_only_defined_statuses_and_the_node_keeps_serving()
    {
        var seed = Environment.GetEnvironmentVariable("MEMO_FUZZ_SEED") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next(1, 1_000_000);
        var seconds = Environment.GetEnvironmentVariable("MEMO_FUZZ_SECONDS") is { } d ? int.Parse(d, CultureInfo.InvariantCulture) : 30;
        output.WriteLine($"seed {seed}, {seconds} s (MEMO_FUZZ_SEED={seed} replays the inputs; MEMO_FUZZ_SECONDS sets the duration)");

        var seeds = await ValidRequestsAsync();
        var methods = PublicMethods.ToList();
        Assert.Equal(AllowedStatuses.Keys.Order(), methods.Select(FullName).Order());
        Assert.All(methods, m => Assert.True(seeds.ContainsKey(FullName(m)), $"no valid seed request for {FullName(m)}"));

        var tally = new ConcurrentDictionary<(string Method, StatusCode Status), int>();
        var undefined = new ConcurrentQueue<string>();
        long calls = 0, probes = 0;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed * 7919 + w);
            var mutator = new ProtobufMutator(random);
            var invoker = _channel.CreateCallInvoker();
            while (clock.Elapsed < until && undefined.IsEmpty)
            {
                for (var i = 0; i < BatchSize; i++)
                {
                    var method = methods[random.Next(methods.Count)];
                    var name = FullName(method);
                    var valid = seeds[name][random.Next(seeds[name].Count)];
                    var structured = random.Next(2) == 0;
                    var bytes = structured ? mutator.MutateStructure(valid).ToByteArray() : mutator.MutateBytes(valid.ToByteArray());
                    var status = await CallAsync(invoker, method, bytes);
                    Interlocked.Increment(ref calls);
                    tally.AddOrUpdate((name, status.StatusCode), 1, (_, n) => n + 1);
                    if (!AllowedStatuses[name].Contains(status.StatusCode) || status.Detail.Length > MaxDetailChars)
                    {
                        undefined.Enqueue($"{name} ({(structured ? "structure" : "raw")} mutation) -> {status.StatusCode} ({status.Detail.Length} chars) \"{Shorten(status.Detail)}\"; request {Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 200)))}{(bytes.Length > 200 ? $"... ({bytes.Length} bytes)" : "")}");
                    }
                }
                await ProbeAsync($"after a batch of worker {w}");
                Interlocked.Increment(ref probes);
            }
        })).ToList();
        await Task.WhenAll(workers);

        output.WriteLine($"{calls} calls in {clock.Elapsed.TotalSeconds:F0} s ({calls / clock.Elapsed.TotalSeconds:F0}/s), {probes} probes passed");
        foreach (var method in methods.Select(FullName).Order())
        {
            var counts = tally.Where(p => p.Key.Method == method).OrderBy(p => p.Key.Status).Select(p => $"{p.Key.Status} {p.Value}");
            output.WriteLine($"  {method}: {string.Join(", ", counts)}");
        }
        Assert.True(undefined.IsEmpty, $"seed {seed}: undefined statuses:\n{string.Join("\n", undefined.Take(10))}");
        foreach (var method in methods.Select(FullName))
        {
            var count = tally.Where(p => p.Key.Method == method).Sum(p => p.Value);
            Assert.True(count >= 10, $"seed {seed}: {method} was called only {count} times, too few to have fuzzed it");
        }
    }

    [Fact]
    public async Task List_with_maxKeys_2_to_the_64_minus_1_returns_every_key_once()
    {
        var kvs = new KeyValueStore.KeyValueStoreClient(_channel);
        for (var i = 0; i < 5; i++)
        {
            await kvs.UpsertAsync(new UpsertRequest { Key = $"max/{i}", Value = ByteString.CopyFromUtf8("v") });
        }
        var listed = await kvs.ListAsync(new ListRequest { Prefix = "max/", MaxKeys = ulong.MaxValue });
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"max/{i}"), listed.Items.Select(i => i.Key));
        Assert.False(listed.Truncated);

        // The same on the wire, with the varint spelled out (ten bytes).
        var bytes = new byte[] { 0x0A, 0x04, (byte)'m', (byte)'a', (byte)'x', (byte)'/' }.Concat(ProtobufMutator.Tag(4, 0)).Concat(ProtobufMutator.Varint(ulong.MaxValue)).ToArray();
        var list = KeyValueStore.Descriptor.FindMethodByName("List");
        var status = await CallAsync(_channel.CreateCallInvoker(), list, bytes);
        Assert.Equal(StatusCode.OK, status.StatusCode);
        await ProbeAsync("after List with maxKeys = 2^64-1");
    }

    [Fact]
    public async Task Invalid_UTF8_in_any_string_field_on_the_wire_is_INVALID_ARGUMENT_and_the_node_keeps_serving()
    {
        var mutator = new ProtobufMutator(new Random(1));
        var invoker = _channel.CreateCallInvoker();
        var checkedFields = new List<string>();
        foreach (var method in PublicMethods)
        {
            foreach (var (path, encoded) in StringFieldsWithInvalidUtf8(method.InputType, mutator))
            {
                var status = await CallAsync(invoker, method, encoded);
                Assert.True(status.StatusCode == StatusCode.InvalidArgument, $"{FullName(method)} {path}: {status.StatusCode} \"{status.Detail}\"");
                checkedFields.Add($"{FullName(method)} {path}");
            }
        }
        output.WriteLine($"{checkedFields.Count} string fields: {string.Join(", ", checkedFields)}");
        Assert.Contains("memo.kvs.KeyValueStore/List marker", checkedFields);
        Assert.Contains("memo.vs.ValueStore/Insert block.type", checkedFields);
        await ProbeAsync("after invalid UTF-8");
    }

    [Fact]
    public async Task A_flood_of_1000_concurrent_streams_gets_defined_statuses_and_the_node_keeps_serving()
    {
        // Several HTTP/2 connections (Kestrel allows 100 streams on each): the node's per-address connection cap and
        // request buffering budget decide what is refused.
        using var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        using var channel = GrpcChannel.ForAddress("http://" + _node.Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        var kvs = new KeyValueStore.KeyValueStoreClient(channel);
        var value = ByteString.CopyFrom(new byte[4096]);
        var clock = Stopwatch.StartNew();
        var calls = Enumerable.Range(0, 1000).Select(async i =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            try
            {
                switch (i % 3)
                {
                    case 0:
                        await kvs.UpsertAsync(new UpsertRequest { Key = $"flood/{i}", Value = value }, deadline: deadline);
                        break;
                    case 1:
                        await kvs.FetchAsync(new KvFetchRequest { Key = $"flood/{i - 1}" }, deadline: deadline);
                        break;
                    default:
                        await kvs.ListAsync(new ListRequest { Prefix = "flood/", MaxKeys = 100 }, deadline: deadline);
                        break;
                }
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }).ToList();
        var statuses = await Task.WhenAll(calls);
        var counts = statuses.GroupBy(s => s).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}");
        output.WriteLine($"1000 concurrent calls in {clock.ElapsedMilliseconds} ms: {string.Join(", ", counts)}");
        Assert.All(statuses, s => Assert.Contains(s, new[] { StatusCode.OK, StatusCode.NotFound, StatusCode.ResourceExhausted }));
        Assert.True(statuses.Count(s => s == StatusCode.OK) >= 100, "the flood starved the node: fewer than 100 of 1000 calls succeeded");
        await ProbeAsync("after the flood");
    }

    [Fact]
    public async Task Found_by_fuzzing_a_named_block_name_over_1024_bytes_is_INVALID_ARGUMENT_not_UNKNOWN()
    {
        var vs = new Memo.Protocol.ValueStore.ValueStore.ValueStoreClient(_channel);
        var name = ByteString.CopyFrom(new byte[1025]);
        var make = await Assert.ThrowsAsync<RpcException>(() => vs.MakeNamedBlockAsync(new MakeNamedBlockRequest { Key = name }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, make.StatusCode);
        var address = await Assert.ThrowsAsync<RpcException>(() => vs.NamedBlockAddressAsync(new NamedBlockAddressRequest { Key = name }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, address.StatusCode);
        Assert.Equal(32, (await vs.MakeNamedBlockAsync(new MakeNamedBlockRequest { Key = ByteString.CopyFrom(new byte[1024]) })).Address.Length);
    }

    [Fact]
    public async Task Found_by_fuzzing_a_value_of_the_largest_allowed_size_is_stored_and_one_byte_more_is_INVALID_ARGUMENT()
    {
        var kvs = new KeyValueStore.KeyValueStoreClient(_channel);
        var largest = (int)_node.Options().Kvs.MaxValueBytes;
        var value = new byte[largest];
        new Random(5).NextBytes(value);
        await kvs.UpsertAsync(new UpsertRequest { Key = "largest", Value = ByteString.CopyFrom(value) });
        Assert.True((await kvs.FetchAsync(new KvFetchRequest { Key = "largest" })).Value.Span.SequenceEqual(value));
        var over = await Assert.ThrowsAsync<RpcException>(() => kvs.UpsertAsync(new UpsertRequest { Key = "over", Value = ByteString.CopyFrom(new byte[largest + 1]) }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, over.StatusCode);
    }

    [Fact]
    public async Task Found_by_fuzzing_an_update_of_a_block_with_a_70000_character_type_gets_a_short_INVALID_ARGUMENT()
    {
        var vs = new Memo.Protocol.ValueStore.ValueStore.ValueStoreClient(_channel);
        var block = new Block { Type = new string('x', 70_000) };
        var refused = await Assert.ThrowsAsync<RpcException>(() => vs.UpdateAsync(new Memo.Protocol.ValueStore.UpdateRequest { Block = block }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.True(refused.Status.Detail.Length < 200, refused.Status.Detail);
        await ProbeAsync("after the long block type");
    }

    private static async Task<Status> CallAsync(CallInvoker invoker, MethodDescriptor method, byte[] request)
    {
        var call = new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, Raw, Raw);
        try
        {
            await invoker.AsyncUnaryCall(call, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(60)), request);
            return Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "...";

    /// <summary>The node serves: health SERVING, and an upsert reads back.</summary>
    private async Task ProbeAsync(string when)
    {
        var health = await new Health.HealthClient(_channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.True(health.Status == HealthCheckResponse.Types.ServingStatus.Serving, $"{when}: health is {health.Status}");
        var kvs = new KeyValueStore.KeyValueStoreClient(_channel);
        var key = "probe/" + Guid.NewGuid().ToString("n");
        await kvs.UpsertAsync(new UpsertRequest { Key = key, Value = ByteString.CopyFromUtf8(key) }, deadline: DateTime.UtcNow.AddSeconds(30));
        var fetched = await kvs.FetchAsync(new KvFetchRequest { Key = key }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.True(fetched.Value.ToStringUtf8() == key, $"{when}: the probe read back '{fetched.Value.ToStringUtf8()}'");
    }

    /// <summary>Valid requests of every method, made against the node (blocks it made, keys it holds).</summary>
    private async Task<Dictionary<string, List<IMessage>>> ValidRequestsAsync()
    {
        var kvs = new KeyValueStore.KeyValueStoreClient(_channel);
        var vs = new Memo.Protocol.ValueStore.ValueStore.ValueStoreClient(_channel);
        for (var i = 0; i < 10; i++)
        {
            await kvs.UpsertAsync(new UpsertRequest { Key = $"fuzz/{i}", Value = ByteString.CopyFromUtf8($"v{i}") });
        }
        // A few versions of one key (the node keeps 4), so a mutated version can hit a kept, a pruned or no version.
        for (var v = 2; v <= 6; v++)
        {
            await kvs.UpsertAsync(new UpsertRequest { Key = "fuzz/4", Value = ByteString.CopyFromUtf8($"v4.{v}") });
        }
        var immutable = await vs.MakeImmutableBlockAsync(new MakeImmutableBlockRequest { Data = ByteString.CopyFromUtf8("immutable") });
        var mutable = await vs.MakeMutableBlockAsync(new MakeMutableBlockRequest());
        var named = await vs.MakeNamedBlockAsync(new MakeNamedBlockRequest { Key = ByteString.CopyFromUtf8("fuzz-name") });
        var stored = await vs.InsertMutableBlockAsync(new InsertMutableBlockRequest { Data = ByteString.CopyFromUtf8("stored") });
        var current = (await vs.FetchAsync(new VsFetchRequest { Address = stored.Address })).Block;
        var next = current.Clone();
        next.Version++;
        next.Data = ByteString.CopyFromUtf8("next");
        next.Signature = ByteString.Empty;
        var key = ByteString.CopyFromUtf8("v");
        return new Dictionary<string, List<IMessage>>
        {
            ["memo.kvs.KeyValueStore/Insert"] = [new KvInsertRequest { Key = "fuzz/new", Value = key }, new KvInsertRequest { Key = "fuzz/1", Value = key }],
            ["memo.kvs.KeyValueStore/Update"] = [new KvUpdateRequest { Key = "fuzz/2", Value = key }],
            ["memo.kvs.KeyValueStore/Upsert"] = [new UpsertRequest { Key = "fuzz/3", Value = key }],
            ["memo.kvs.KeyValueStore/Fetch"] = [new KvFetchRequest { Key = "fuzz/4" }, new KvFetchRequest { Key = "fuzz/4", Version = 4 }],
            ["memo.kvs.KeyValueStore/ListVersions"] = [new ListVersionsRequest { Key = "fuzz/4" }],
            ["memo.kvs.KeyValueStore/Delete"] = [new KvDeleteRequest { Key = "fuzz/5" }],
            ["memo.kvs.KeyValueStore/List"] = [new ListRequest { Prefix = "fuzz/", MaxKeys = 3 }, new ListRequest { Prefix = "", Delimiter = "/", Marker = "fuzz/2", MaxKeys = 100 }],
            ["memo.vs.ValueStore/MakeImmutableBlock"] = [new MakeImmutableBlockRequest { Data = key }],
            ["memo.vs.ValueStore/MakeMutableBlock"] = [new MakeMutableBlockRequest()],
            ["memo.vs.ValueStore/MakeNamedBlock"] = [new MakeNamedBlockRequest { Key = key }],
            ["memo.vs.ValueStore/NamedBlockAddress"] = [new NamedBlockAddressRequest { Key = named.Name, OwnerKey = named.OwnerKey }],
            ["memo.vs.ValueStore/Fetch"] = [new VsFetchRequest { Address = stored.Address }, new VsFetchRequest { Address = immutable.Address, HasLocalVersion = true, LocalVersion = 0 },
                new VsFetchRequest { Address = stored.Address, HasVersion = true, Version = 0 }],
            ["memo.vs.ValueStore/Insert"] = [new Memo.Protocol.ValueStore.InsertRequest { Block = mutable }, new Memo.Protocol.ValueStore.InsertRequest { Block = immutable }, new Memo.Protocol.ValueStore.InsertRequest { Block = named }],
            ["memo.vs.ValueStore/InsertImmutableBlock"] = [new InsertImmutableBlockRequest { Data = key }],
            ["memo.vs.ValueStore/InsertMutableBlock"] = [new InsertMutableBlockRequest { Data = key }],
            ["memo.vs.ValueStore/Update"] = [new Memo.Protocol.ValueStore.UpdateRequest { Block = next }],
            ["memo.vs.ValueStore/Delete"] = [new Memo.Protocol.ValueStore.DeleteRequest { Address = stored.Address }],
            ["memo.vs.ValueStore/ListVersions"] = [new ListBlockVersionsRequest { Address = stored.Address }],
        };
    }

    /// <summary>
    /// For each string field of <paramref name="type"/> (and of its message fields, one level down): a request
    /// holding only that field, set to bytes that are not UTF-8.
    /// </summary>
    private static IEnumerable<(string Path, byte[] Encoded)> StringFieldsWithInvalidUtf8(MessageDescriptor type, ProtobufMutator mutator)
    {
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            if (field.FieldType == FieldType.String)
            {
                yield return (field.Name, mutator.InvalidUtf8Field(field.FieldNumber));
            }
            else if (field.FieldType == FieldType.Message)
            {
                foreach (var (path, inner) in StringFieldsWithInvalidUtf8(field.MessageType, mutator))
                {
                    yield return ($"{field.Name}.{path}", [.. ProtobufMutator.Tag(field.FieldNumber, 2), .. ProtobufMutator.Varint((ulong)inner.Length), .. inner]);
                }
            }
        }
    }
}
