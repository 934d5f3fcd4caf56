using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Memo.Node.Api.Hosting;
using Memo.Node.Tests.Api.Grpc;
using Memo.Protocol.Kvs;

namespace Memo.Node.Tests.Api;

/// <summary>The node's Grpc.AspNetCore host on its own, with a stand-in service: health, default deadline, limits.</summary>
public sealed class ApiServerTests
{
    private static async Task<ApiServer> StartAsync(KeyValueStore.KeyValueStoreBase service, Func<string?> notServing, TimeSpan? defaultDeadline = null,
        int receiveBlockSize = ReceiveBlockPool.MinBlockSize) =>
        await ApiServer.StartAsync(new ApiServerOptions
        {
            Endpoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            DefaultDeadline = defaultDeadline ?? TimeSpan.FromSeconds(30),
            ShutdownGracePeriod = TimeSpan.FromSeconds(1),
            ReceiveBlockSize = receiveBlockSize,
        }, new ApiServices().Add(service, KeyValueStore.BindService, KeyValueStore.Descriptor), notServing, ["memo.kvs.KeyValueStore"], new TestLoggerFactory(), CancellationToken.None);

    private static GrpcChannel Connect(ApiServer server) => GrpcChannel.ForAddress($"http://{server.BoundEndpoints[0]}");

    [Fact]
    public async Task Health_follows_the_node_state_for_the_server_and_each_named_service()
    {
        string? reason = "not a member yet";
        await using var server = await StartAsync(new WaitingKvs(), () => reason);
        using var channel = Connect(server);
        var health = new Health.HealthClient(channel);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest { Service = "" })).Status);
        reason = null;
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "" })).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "memo.kvs.KeyValueStore" })).Status);
        reason = "stopping";
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest { Service = "memo.kvs.KeyValueStore" })).Status);

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_unary_call_without_a_deadline_gets_the_server_default_and_ends_DeadlineExceeded()
    {
        var service = new WaitingKvs();
        await using var server = await StartAsync(service, () => null, TimeSpan.FromMilliseconds(300));
        using var channel = Connect(server);
        var client = new KeyValueStore.KeyValueStoreClient(channel);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.FetchAsync(new FetchRequest { Key = "k" }));

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        // The handler saw a deadline and a token, as if the client had sent them.
        Assert.True(await service.SawCancellation.Task);
        Assert.NotEqual(DateTime.MaxValue, await service.SawDeadline.Task);
    }

    [Fact]
    public async Task A_client_deadline_is_kept_instead_of_the_default()
    {
        var service = new WaitingKvs();
        await using var server = await StartAsync(service, () => null, Timeout.InfiniteTimeSpan);
        using var channel = Connect(server);
        var client = new KeyValueStore.KeyValueStoreClient(channel);
        var clientDeadline = DateTime.UtcNow.AddMilliseconds(300);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.FetchAsync(new FetchRequest { Key = "k" }, deadline: clientDeadline));

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        var seen = await service.SawDeadline.Task;
        Assert.InRange(seen, clientDeadline.AddSeconds(-5), clientDeadline.AddSeconds(5));
    }

    [Fact]
    public async Task A_handler_failure_is_Unknown_with_a_generic_message_and_the_server_keeps_serving()
    {
        await using var server = await StartAsync(new WaitingKvs(), () => null);
        using var channel = Connect(server);
        var client = new KeyValueStore.KeyValueStoreClient(channel);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.DeleteAsync(new DeleteRequest { Key = "boom" }));

        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.DoesNotContain("secret", e.Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(await client.UpsertAsync(new UpsertRequest { Key = "k" }));
    }

    [Fact]
    public async Task A_1_MiB_request_is_read_into_the_servers_large_blocks_and_every_block_comes_back()
    {
        var service = new WaitingKvs();
        await using var server = await StartAsync(service, () => null, receiveBlockSize: 64 * 1024);
        var value = new byte[1024 * 1024];
        new Random(11).NextBytes(value);
        using (var channel = Connect(server))
        {
            var client = new KeyValueStore.KeyValueStoreClient(channel);
            await client.UpsertAsync(new UpsertRequest { Key = "big", Value = Google.Protobuf.ByteString.CopyFrom(value) });
        }

        Assert.Equal(value, await service.Upserted.Task);
        // Larger blocks are rented only once data is there, so an idle connection holds none.
        Assert.True(server.WaitsForDataBeforeReading);
        var pools = server.ReceiveBlocks.Pools;
        Assert.NotEmpty(pools);
        Assert.All(pools, pool => Assert.Equal(64 * 1024, pool.BlockSize));
        // 1 MiB in 64 KiB blocks: the transport and the pipes rented from these pools, not from Kestrel's 4 KiB one.
        Assert.True(pools.Sum(pool => pool.Allocated) >= 2, $"blocks allocated: {pools.Sum(pool => pool.Allocated)}");
        // The connection is closed: every block it held goes back once Kestrel has torn it down.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (pools.Sum(pool => pool.Rented) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(0, pools.Sum(pool => pool.Rented));
    }

    [Fact]
    public async Task At_the_default_block_size_Kestrel_keeps_its_own_pool()
    {
        var service = new WaitingKvs();
        await using var server = await StartAsync(service, () => null);
        using (var channel = Connect(server))
        {
            var client = new KeyValueStore.KeyValueStoreClient(channel);
            await client.UpsertAsync(new UpsertRequest { Key = "big", Value = Google.Protobuf.ByteString.CopyFrom(new byte[256 * 1024]) });
        }
        Assert.Equal(256 * 1024, (await service.Upserted.Task).Length);
        // No pool of ours was asked for, and reads go straight into Kestrel's blocks: Kestrel's own default reads zero
        // bytes first (stop 20's default had dropped the setting stop 19 chose).
        Assert.Empty(server.ReceiveBlocks.Pools);
        Assert.False(server.WaitsForDataBeforeReading);
    }

    [Fact]
    public async Task Invalid_options_are_all_reported_at_once()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => ApiServer.StartAsync(new ApiServerOptions
        {
            Addresses = ["no-port"],
            MaxReceiveMessageSize = 0,
            DefaultDeadline = TimeSpan.Zero,
            ReceiveBlockSize = 1024,
        }, new ApiServices(), () => null, [], new TestLoggerFactory(), CancellationToken.None));

        Assert.Contains("no-port", e.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(ApiServerOptions.MaxReceiveMessageSize), e.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(ApiServerOptions.DefaultDeadline), e.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(ApiServerOptions.ReceiveBlockSize), e.Message, StringComparison.Ordinal);
    }

    /// <summary>Fetch waits for cancellation and reports what it saw; Delete fails with a non-gRPC exception; Upsert succeeds and reports the first value.</summary>
    private sealed class WaitingKvs : KeyValueStore.KeyValueStoreBase
    {
        public TaskCompletionSource<bool> SawCancellation { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<DateTime> SawDeadline { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task<FetchResponse> Fetch(FetchRequest request, ServerCallContext context)
        {
            SawDeadline.TrySetResult(context.Deadline);
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                SawCancellation.TrySetResult(true);
                throw;
            }
            return new FetchResponse();
        }

        public override Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context) =>
            throw new InvalidOperationException("secret internal detail");

        public TaskCompletionSource<byte[]> Upserted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context)
        {
            Upserted.TrySetResult(request.Value.ToByteArray());
            return Task.FromResult(new UpsertResponse());
        }
    }
}
