using System.Text;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;
using Memo.Testing;

namespace Memo.Node.Tests.Api;

/// <summary>A real node in-process, called over gRPC through <see cref="MemoClient"/> and with hand-made bad frames.</summary>
public sealed class NodeApiTests : IAsyncLifetime
{
    private TestNode _node = null!;
    private MemoClient _client = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(["memo.shards.count = 8", "memo.grpc.max-receive-message-size = 1MiB", "memo.kvs.max-value-bytes = 512KiB"]);
        _client = _node.Client();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _node.DisposeAsync();
    }

    private static byte[] V(string s) => Encoding.UTF8.GetBytes(s);

    private async Task NodeStillServesAsync()
    {
        var key = "alive/" + Guid.NewGuid().ToString("n");
        await _client.UpsertAsync(key, V("yes"));
        Assert.Equal("yes", Encoding.UTF8.GetString((await _client.FetchAsync(key))!));
    }

    [Fact]
    public async Task Key_value_calls_map_outcomes_to_memo_status_codes()
    {
        Assert.True(await _client.InsertAsync("k", V("1")));
        Assert.False(await _client.InsertAsync("k", V("2")));
        Assert.Equal("1", Encoding.UTF8.GetString((await _client.FetchAsync("k"))!));
        Assert.False(await _client.UpdateAsync("missing", V("x")));
        Assert.Null(await _client.FetchAsync("missing"));
        var empty = await Assert.ThrowsAsync<GrpcException>(() => _client.UpsertAsync("", V("x")));
        Assert.Equal(GrpcStatusCode.InvalidArgument, empty.Status);
        Assert.True(await _client.DeleteAsync("k"));
        Assert.False(await _client.DeleteAsync("k"));
    }

    // Values above the inline limit are parsed into their block's encoding (KvWriteRequestParser): each write call's
    // value, around the inline limit, the transport's 16 KiB frames and the copy-file threshold, reads back as sent.
    [Fact]
    public async Task Large_values_of_every_write_call_read_back_as_sent()
    {
        foreach (var size in new[] { 4096, 4097, 16_384, 16_385, 65_537, 300_001 })
        {
            var key = "large/" + size;
            var inserted = Filled(size, size);
            Assert.True(await _client.InsertAsync(key, inserted));
            Assert.Equal(inserted, await _client.FetchAsync(key));
            var updated = Filled(size + 1, size + 1);
            Assert.True(await _client.UpdateAsync(key, updated));
            Assert.Equal(updated, await _client.FetchAsync(key));
            var upserted = Filled(size, size + 2);
            await _client.UpsertAsync(key, upserted);
            Assert.Equal(upserted, await _client.FetchAsync(key));
        }
    }

    private static byte[] Filled(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task A_value_over_the_limit_is_refused_and_a_message_over_the_frame_limit_is_resource_exhausted()
    {
        var tooBig = await Assert.ThrowsAsync<GrpcException>(() => _client.UpsertAsync("big", new byte[600 * 1024]));
        Assert.Equal(GrpcStatusCode.InvalidArgument, tooBig.Status);
        var frameTooBig = await Assert.ThrowsAsync<GrpcException>(() => _client.UpsertAsync("big", new byte[2 * 1024 * 1024]));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, frameTooBig.Status);
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task A_list_prefix_or_marker_longer_than_the_key_limit_is_invalid_argument_with_a_clear_message()
    {
        var tooLong = new string('p', 4097); // memo.kvs.max-key-bytes is 4096
        var prefix = await Assert.ThrowsAsync<GrpcException>(() => _client.ListAsync(tooLong));
        Assert.Equal(GrpcStatusCode.InvalidArgument, prefix.Status);
        Assert.Contains("The prefix is 4097 bytes; the limit is 4096", prefix.Message, StringComparison.Ordinal);
        var marker = await Assert.ThrowsAsync<GrpcException>(() => _client.ListAsync("", tooLong, "/"));
        Assert.Equal(GrpcStatusCode.InvalidArgument, marker.Status);
        Assert.Contains("The marker is 4097 bytes", marker.Message, StringComparison.Ordinal);
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task Immutable_and_mutable_blocks_round_trip_and_a_stale_update_returns_the_current_block()
    {
        var chb = await _client.InsertImmutableBlockAsync(V("immutable"));
        Assert.True(chb.IsImmutable);
        var fetched = await _client.FetchBlockAsync(chb);
        Assert.Equal("immutable", fetched!.Data.ToStringUtf8());

        var okb = await _client.InsertMutableBlockAsync(V("v0"));
        Assert.False(okb.IsImmutable);
        var v0 = (await _client.FetchBlockAsync(okb))!;
        Assert.Equal(0, v0.Version);

        var v1 = v0.Clone();
        v1.Version = 1;
        v1.Data = ByteString.CopyFromUtf8("v1");
        v1.Signature = ByteString.Empty; // the node signs blocks it owns
        Assert.Same(BlockUpdateResult.Updated, await _client.UpdateBlockAsync(v1));

        var stale = v0.Clone();
        stale.Version = 1;
        stale.Data = ByteString.CopyFromUtf8("late");
        stale.Signature = ByteString.Empty;
        var conflict = Assert.IsType<BlockUpdateResult.Conflict>(await _client.UpdateBlockAsync(stale));
        Assert.Equal(1, conflict.Current.Version);
        Assert.Equal("v1", conflict.Current.Data.ToStringUtf8());

        Assert.True(await _client.DeleteBlockAsync(okb));
        Assert.Null(await _client.FetchBlockAsync(okb));
        Assert.False(await _client.DeleteBlockAsync(okb));
    }

    [Fact]
    public async Task A_block_whose_content_does_not_match_its_address_is_permission_denied()
    {
        var address = await _client.InsertImmutableBlockAsync(V("original"));
        var block = (await _client.FetchBlockAsync(address))!;
        block.Data = ByteString.CopyFromUtf8("forged");
        var e = await Assert.ThrowsAsync<GrpcException>(() => _client.InsertBlockAsync(block));
        Assert.Equal(GrpcStatusCode.PermissionDenied, e.Status);
        Assert.Equal("original", (await _client.FetchBlockAsync(address))!.Data.ToStringUtf8());
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task A_mutable_block_with_a_bad_signature_is_permission_denied()
    {
        using var owner = MemoKeyPair.Generate();
        var block = BlockFactory.MakeMutable(owner, V("signed"));
        await _client.InsertBlockAsync(block);
        var next = BlockFactory.NextVersion(block, V("tampered"), owner);
        var signature = next.Signature.ToByteArray();
        signature[10] ^= 0x40;
        next.Signature = ByteString.CopyFrom(signature);
        var e = await Assert.ThrowsAsync<GrpcException>(() => _client.UpdateBlockAsync(next));
        Assert.Equal(GrpcStatusCode.PermissionDenied, e.Status);

        using var stranger = MemoKeyPair.Generate();
        var hijack = block.Clone();
        hijack.Version = 1;
        hijack.Data = ByteString.CopyFromUtf8("hijack");
        hijack.Signature = ByteString.CopyFrom(stranger.Sign(BlockSigning.SigningBytes(hijack)));
        var denied = await Assert.ThrowsAsync<GrpcException>(() => _client.UpdateBlockAsync(hijack));
        Assert.Equal(GrpcStatusCode.PermissionDenied, denied.Status);
        Assert.Equal("signed", (await _client.FetchBlockAsync(BlockAddress.FromBytes(block.Address.Span)))!.Data.ToStringUtf8());
    }

    [Fact]
    public async Task Malformed_addresses_are_invalid_arguments()
    {
        var e = await Assert.ThrowsAsync<GrpcException>(() => _client.CallAsync(ValueStoreMethods.Fetch,
            new Memo.Protocol.ValueStore.FetchRequest { Address = ByteString.CopyFrom(1, 2, 3, 4, 5) }));
        Assert.Equal(GrpcStatusCode.InvalidArgument, e.Status);
    }

    [Fact]
    public async Task Garbage_protobuf_is_invalid_argument_and_the_node_keeps_serving()
    {
        var (status, _, _) = await RawGrpc.CallAsync(_node.Address, "/memo.kvs.KeyValueStore/Upsert", RawGrpc.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]));
        Assert.Equal((int)GrpcStatusCode.InvalidArgument, status);
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task A_truncated_frame_is_rejected_and_the_node_keeps_serving()
    {
        var message = new UpsertRequest { Key = "t", Value = ByteString.CopyFrom(new byte[100]) }.ToByteArray();
        var truncated = RawGrpc.Frame(message)[..50];
        var (status, _, _) = await RawGrpc.CallAsync(_node.Address, "/memo.kvs.KeyValueStore/Upsert", truncated);
        Assert.Equal((int)GrpcStatusCode.Internal, status);
        var (prefixOnly, _, _) = await RawGrpc.CallAsync(_node.Address, "/memo.kvs.KeyValueStore/Upsert", [0, 0, 0]);
        Assert.Equal((int)GrpcStatusCode.Internal, prefixOnly);
        Assert.Null(await _client.FetchAsync("t"));
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task An_oversized_frame_is_resource_exhausted_before_its_body_is_read()
    {
        // Declares 1 GiB but sends only a few bytes: the node must refuse from the prefix alone.
        var (status, _, _) = await RawGrpc.CallAsync(_node.Address, "/memo.kvs.KeyValueStore/Upsert", RawGrpc.Frame([1, 2, 3], declaredLength: 1 << 30));
        Assert.Equal((int)GrpcStatusCode.ResourceExhausted, status);
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task Unknown_methods_and_services_are_unimplemented()
    {
        var (method, _, _) = await RawGrpc.CallAsync(_node.Address, "/memo.kvs.KeyValueStore/Nope", RawGrpc.Frame([]));
        Assert.Equal((int)GrpcStatusCode.Unimplemented, method);
        var (service, _, _) = await RawGrpc.CallAsync(_node.Address, "/no.Such/Thing", RawGrpc.Frame([]));
        Assert.Equal((int)GrpcStatusCode.Unimplemented, service);
        await NodeStillServesAsync();
    }

    [Theory]
    [InlineData("memo.cluster.ClusterAdmin", "Show")]
    [InlineData("memo.cluster.ClusterAdmin", "Shards")]
    [InlineData("memo.cluster.ClusterAdmin", "Join")]
    [InlineData("memo.cluster.ClusterAdmin", "Leave")]
    [InlineData("memo.cluster.ClusterAdmin", "Down")]
    [InlineData("memo.shard.ShardService", "Propose")]
    [InlineData("memo.shard.ShardService", "Read")]
    [InlineData("memo.shard.ShardService", "Status")]
    public async Task No_node_internal_service_is_served_on_the_public_port(string service, string method)
    {
        // memo cluster asks the admin actor over Akka remoting and nodes forward to each other over the peer links; the
        // gRPC port answers every method of the old node-internal services UNIMPLEMENTED. The descriptors are built by
        // hand: the generated services are gone.
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress($"http://{_node.Address}");
        var bytes = global::Grpc.Core.Marshallers.Create<byte[]>(b => b, b => b);
        var descriptor = new global::Grpc.Core.Method<byte[], byte[]>(global::Grpc.Core.MethodType.Unary, service, method, bytes, bytes);

        var e = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => channel.CreateCallInvoker()
            .AsyncUnaryCall(descriptor, null, new global::Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), []).ResponseAsync);

        Assert.Equal(global::Grpc.Core.StatusCode.Unimplemented, e.StatusCode);
        await NodeStillServesAsync();
    }

    [Fact]
    public async Task Health_answers_SERVING_for_the_node_and_its_public_services()
    {
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress($"http://{_node.Address}");
        var health = new global::Grpc.Health.V1.Health.HealthClient(channel);
        // A node answers NOT_SERVING until it is an Up member: Watch reports each change, so wait for SERVING there.
        using (var watch = health.Watch(new global::Grpc.Health.V1.HealthCheckRequest { Service = "" }, deadline: DateTime.UtcNow.AddSeconds(30)))
        {
            var seen = new List<global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus>();
            while (await watch.ResponseStream.MoveNext(CancellationToken.None))
            {
                seen.Add(watch.ResponseStream.Current.Status);
                if (watch.ResponseStream.Current.Status == global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    break;
                }
            }
            Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, seen[^1]);
        }
        foreach (var service in new[] { "", "memo.kvs.KeyValueStore", "memo.vs.ValueStore" })
        {
            var answer = await health.CheckAsync(new global::Grpc.Health.V1.HealthCheckRequest { Service = service });
            Assert.Equal(global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, answer.Status);
        }
    }

    [Fact]
    public async Task Server_reflection_lists_the_public_services_and_describes_their_files()
    {
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress($"http://{_node.Address}");
        var reflection = new global::Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new global::Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.WriteAsync(new global::Grpc.Reflection.V1Alpha.ServerReflectionRequest { FileContainingSymbol = "memo.kvs.KeyValueStore" });
        await call.RequestStream.CompleteAsync();

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal).ToList();
        // Exactly the public services: nothing node-internal (memo.shard.ShardService, memo.cluster.ClusterAdmin).
        Assert.Equal(["grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "memo.kvs.KeyValueStore", "memo.vs.ValueStore"], services);

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var file = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("memo.kvs", file.Package);
        Assert.Contains(file.Service.Single().Method, m => m.Name == "Upsert");
    }

    [Fact]
    public async Task The_node_runs_an_ActorSystem_named_after_its_network_reachable_over_remoting()
    {
        var node = _node.Node;
        Assert.Equal("memo", node.ActorSystem.Name);
        Assert.True(Memo.Node.Configuration.NodeOptions.TryParseHostPort(node.RemoteAddress, out var host, out var port) && port != 0,
            $"remoting address {node.RemoteAddress}");

        // Another system of the same name associates and finds the node's system guardian.
        using var visitor = Akka.Actor.ActorSystem.Create("memo", Akka.Configuration.ConfigurationFactory.ParseString(
            "akka.actor.provider = remote\nakka.remote.dot-netty.tcp.hostname = 127.0.0.1\nakka.remote.dot-netty.tcp.port = 0\nakka.loglevel = WARNING"));
        var guardian = await visitor.ActorSelection($"akka.tcp://memo@{host}:{port}/user").ResolveOne(TimeSpan.FromSeconds(10));
        Assert.Equal(port, guardian.Path.Address.Port);
        await visitor.Terminate();
    }

    [Fact]
    public async Task Data_survives_a_restart_on_the_same_folder()
    {
        await _client.UpsertAsync("durable", V("kept"));
        var block = await _client.InsertMutableBlockAsync(V("m"));
        _client.Dispose();
        await _node.StopAsync();
        await _node.StartAgainAsync();
        _client = _node.Client();
        Assert.Equal("kept", Encoding.UTF8.GetString((await _client.FetchAsync("durable"))!));
        // The node key survives too: the node can still sign updates of the blocks it made.
        var stored = (await _client.FetchBlockAsync(block))!;
        stored.Version = 1;
        stored.Data = ByteString.CopyFromUtf8("m1");
        stored.Signature = ByteString.Empty;
        Assert.Same(BlockUpdateResult.Updated, await _client.UpdateBlockAsync(stored));
    }
}
