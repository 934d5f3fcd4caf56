using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Kvs;
using GrpcException = Memo.Protocol.Grpc.GrpcException;
using GrpcStatusCode = Memo.Protocol.Grpc.GrpcStatusCode;
using VsFetchResponse = Memo.Protocol.ValueStore.FetchResponse;

namespace Memo.Protocol.Tests.Client;

/// <summary>MemoClient over Grpc.Net.Client against a Grpc.AspNetCore server: outcomes, status mapping, deadlines, limits.</summary>
public sealed class MemoClientTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private MemoClient Client(TimeSpan? timeout = null, MemoChannelOptions? channel = null) =>
        new(_server.Target, new MemoClientOptions { Timeout = timeout ?? TimeSpan.FromSeconds(30), Channel = channel });

    [Fact]
    public async Task Missing_and_existing_keys_are_return_values_not_exceptions()
    {
        using var client = Client();

        Assert.True(await client.InsertAsync("k", "v1"u8.ToArray()));
        Assert.False(await client.InsertAsync("k", "v2"u8.ToArray()));
        Assert.False(await client.UpdateAsync("nope", "v"u8.ToArray()));
        Assert.True(await client.UpdateAsync("k", "v3"u8.ToArray()));
        Assert.Equal("v3"u8.ToArray(), await client.FetchAsync("k"));
        Assert.Null(await client.FetchAsync("nope"));
        Assert.True(await client.DeleteAsync("k"));
        Assert.False(await client.DeleteAsync("k"));
    }

    [Fact]
    public async Task An_upserted_value_comes_back_byte_for_byte_even_when_empty()
    {
        using var client = Client();
        byte[] value = [0, 1, 2, 0xff, 0x80];

        await client.UpsertAsync("bin", value);
        await client.UpsertAsync("empty", ReadOnlyMemory<byte>.Empty);

        Assert.Equal(value, await client.FetchAsync("bin"));
        Assert.Empty((await client.FetchAsync("empty"))!);
    }

    [Theory]
    [InlineData(StatusCode.PermissionDenied)]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.FailedPrecondition)]
    [InlineData(StatusCode.Aborted)]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.Unauthenticated)]
    [InlineData(StatusCode.ResourceExhausted)]
    public async Task A_failed_call_throws_GrpcException_with_the_same_status_and_the_detail_as_message(StatusCode status)
    {
        _server.KeyValueStore.Intercept = _ => throw new RpcException(new Status(status, "shard 3: \"no\" 100%"));
        using var client = Client();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.UpsertAsync("k", "v"u8.ToArray()));

        Assert.Equal((int)status, (int)ex.Status);
        Assert.Equal(status.ToString(), ex.Status.ToString());
        Assert.Equal("shard 3: \"no\" 100%", ex.Message);
        var inner = Assert.IsType<RpcException>(ex.InnerException);
        Assert.Equal(status, inner.StatusCode);
    }

    [Fact]
    public async Task Statuses_a_method_does_not_expect_still_throw()
    {
        // NOT_FOUND means "missing" for Fetch, but an Insert answered NOT_FOUND is a failure like any other.
        _server.KeyValueStore.Intercept = _ => throw new RpcException(new Status(StatusCode.NotFound, "No shard."));
        using var client = Client();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.InsertAsync("k", "v"u8.ToArray()));

        Assert.Equal(GrpcStatusCode.NotFound, ex.Status);
    }

    [Fact]
    public async Task Custom_trailers_of_a_failed_call_are_kept_on_the_exception()
    {
        _server.KeyValueStore.Intercept = _ => throw new RpcException(new Status(StatusCode.Unavailable, "No leader."), new Metadata { { "x-shard", "7" } });
        using var client = Client();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.FetchAsync("k"));

        Assert.Equal(GrpcStatusCode.Unavailable, ex.Status);
        Assert.Contains(new KeyValuePair<string, string>("x-shard", "7"), ex.Trailers!);
    }

    [Fact]
    public async Task A_genuine_block_passes_verification()
    {
        var block = BlockFactory.MakeImmutable("content"u8, owner: null);
        _server.ValueStore.Answer = _ => new VsFetchResponse { Block = block };
        using var client = Client();

        var fetched = await client.FetchBlockAsync(block.GetAddress());

        Assert.Equal("content", fetched!.Data.ToStringUtf8());
    }

    [Fact]
    public async Task A_forged_block_is_DataLoss()
    {
        var asked = BlockFactory.MakeImmutable("genuine"u8, owner: null).GetAddress();
        _server.ValueStore.Answer = _ => new VsFetchResponse { Block = BlockFactory.MakeImmutable("forged"u8, owner: null) };
        using var client = Client();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.FetchBlockAsync(asked));

        Assert.Equal(GrpcStatusCode.DataLoss, ex.Status);
        Assert.Contains(asked.ToString(), ex.Message);
    }

    [Fact]
    public async Task A_fetch_answered_without_a_block_is_DataLoss_and_a_missing_block_is_null()
    {
        var address = BlockFactory.MakeImmutable("x"u8, owner: null).GetAddress();
        using var client = Client();

        Assert.Null(await client.FetchBlockAsync(address));
        _server.ValueStore.Answer = _ => new VsFetchResponse();
        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.FetchBlockAsync(address));

        Assert.Equal(GrpcStatusCode.DataLoss, ex.Status);
    }

    [Fact]
    public async Task The_client_timeout_is_the_deadline_the_node_sees()
    {
        using var client = Client(TimeSpan.FromSeconds(20));
        var before = DateTime.UtcNow;

        await client.UpsertAsync("k", "v"u8.ToArray());

        // grpc-timeout travels with coarse units; allow a second either way.
        Assert.InRange(_server.KeyValueStore.LastDeadline, before.AddSeconds(18), DateTime.UtcNow.AddSeconds(21));
    }

    [Fact]
    public async Task Without_a_timeout_the_node_sees_no_deadline()
    {
        using var client = new MemoClient(_server.Target, new MemoClientOptions { Timeout = null });

        await client.UpsertAsync("k", "v"u8.ToArray());

        Assert.Equal(DateTime.MaxValue, _server.KeyValueStore.LastDeadline);
    }

    [Fact]
    public async Task A_call_outliving_the_timeout_is_DeadlineExceeded()
    {
        _server.KeyValueStore.Intercept = context => Task.Delay(Timeout.Infinite, context.CancellationToken);
        using var client = Client(TimeSpan.FromMilliseconds(200));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.FetchAsync("k").WaitAsync(Patience));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.Status);
    }

    [Fact]
    public async Task A_zero_timeout_is_DeadlineExceeded_without_reaching_the_node()
    {
        using var client = Client(TimeSpan.Zero);

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.UpsertAsync("k", "v"u8.ToArray()));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.Status);
        Assert.Equal(0, _server.KeyValueStore.Calls);
    }

    [Fact]
    public async Task Cancelling_a_call_is_Cancelled_and_the_node_sees_it()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverSawCancel = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.KeyValueStore.Intercept = async context =>
        {
            using var registration = context.CancellationToken.Register(() => serverSawCancel.TrySetResult());
            entered.SetResult();
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        };
        using var client = Client();
        using var cts = new CancellationTokenSource();

        var call = client.FetchAsync("k", cts.Token);
        await entered.Task.WaitAsync(Patience);
        cts.Cancel();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => call.WaitAsync(Patience));
        Assert.Equal(GrpcStatusCode.Cancelled, ex.Status);
        await serverSawCancel.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task Nothing_listening_at_the_target_is_Unavailable_with_the_socket_error_inside()
    {
        using var client = new MemoClient($"127.0.0.1:{ClosedPort()}");

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.FetchAsync("k").WaitAsync(Patience));

        Assert.Equal(GrpcStatusCode.Unavailable, ex.Status);
        Assert.IsType<RpcException>(ex.InnerException);
        var innermost = ex.GetBaseException();
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(innermost).SocketErrorCode);
    }

    [Fact]
    public async Task A_response_over_the_receive_limit_is_ResourceExhausted()
    {
        _server.KeyValueStore.Put("big", new byte[4096]);
        using var client = Client(channel: new MemoChannelOptions { MaxReceiveMessageSize = 1024 });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.FetchAsync("big"));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.Status);
    }

    [Fact]
    public async Task A_request_over_the_send_limit_is_ResourceExhausted_and_never_sent()
    {
        using var client = Client(channel: new MemoChannelOptions { MaxSendMessageSize = 100 });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.UpsertAsync("k", new byte[200]));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.Status);
        Assert.Null(_server.KeyValueStore.Value("k"));
    }

    [Fact]
    public async Task CallAsync_calls_any_method_descriptor_with_the_client_deadline()
    {
        using var client = Client(TimeSpan.FromSeconds(20));
        await client.UpsertAsync("a/1", "x"u8.ToArray());
        await client.UpsertAsync("b/1", "x"u8.ToArray());

        var page = await client.CallAsync(KeyValueStoreMethods.List, new ListRequest { Prefix = "a/" });

        Assert.Equal(["a/1"], page.Items.Select(i => i.Key));
        Assert.NotEqual(DateTime.MaxValue, _server.KeyValueStore.LastDeadline);
    }

    [Fact]
    public async Task CallAsync_failures_are_GrpcExceptions()
    {
        _server.KeyValueStore.Intercept = _ => throw new RpcException(new Status(StatusCode.OutOfRange, "Past the end."));
        using var client = Client();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.CallAsync(KeyValueStoreMethods.List, new ListRequest()));

        Assert.Equal(GrpcStatusCode.OutOfRange, ex.Status);
    }

    [Fact]
    public async Task Sixty_four_concurrent_calls_share_one_client()
    {
        using var client = Client();

        await Task.WhenAll(Enumerable.Range(0, 64).Select(i => client.UpsertAsync($"k{i}", BitConverter.GetBytes(i))));
        var values = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => client.FetchAsync($"k{i}")));

        Assert.All(Enumerable.Range(0, 64), i => Assert.Equal(BitConverter.GetBytes(i), values[i]));
    }

    [Fact]
    public async Task A_client_on_a_callers_channel_leaves_it_open_when_disposed()
    {
        using var channel = MemoChannel.Create(_server.Target);
        using (var first = new MemoClient(channel, TimeSpan.FromSeconds(30)))
        {
            await first.UpsertAsync("k", "v"u8.ToArray());
            Assert.Same(channel, first.Channel);
        }

        using var second = new MemoClient(channel);
        Assert.Equal("v"u8.ToArray(), await second.FetchAsync("k"));
    }

    [Fact]
    public async Task Calls_on_a_disposed_client_fail()
    {
        var client = Client();
        client.Dispose();

        await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => client.FetchAsync("k"));
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
