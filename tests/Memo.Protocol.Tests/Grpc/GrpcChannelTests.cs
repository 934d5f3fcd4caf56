using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;
using static Memo.Protocol.Tests.Grpc.FakeGrpcHandler;

namespace Memo.Protocol.Tests.Grpc;

/// <summary>The client against scripted HTTP responses: request shape, status handling, limits, deadlines, failures.</summary>
public sealed class GrpcChannelTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly GrpcMethod<FetchRequest, FetchResponse> Fetch =
        new("memo.kvs.KeyValueStore", "Fetch", GrpcMethodKind.Unary, FetchRequest.Parser, FetchResponse.Parser);

    private static readonly GrpcMethod<FetchRequest, FetchResponse> Stream =
        new("test.Echo", "Stream", GrpcMethodKind.ServerStreaming, FetchRequest.Parser, FetchResponse.Parser);

    private static readonly FetchResponse Value = new() { Value = Google.Protobuf.ByteString.CopyFromUtf8("v") };

    [Fact]
    public async Task Unary_request_is_a_gRPC_HTTP2_POST_with_the_required_headers_and_one_frame()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse(Frame(Value), ("grpc-status", "0"))));
        using var channel = Channel(handler);

        var response = await channel.UnaryAsync(Fetch, new FetchRequest { Key = "k" }, new GrpcCallOptions
        {
            Timeout = TimeSpan.FromSeconds(20),
            Headers = [new("x-tenant", "acme")],
        });

        Assert.Equal("v", response.Value.ToStringUtf8());
        var request = handler.LastRequest!;
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal(HttpVersion.Version20, request.Version);
        Assert.Equal(HttpVersionPolicy.RequestVersionExact, request.VersionPolicy);
        Assert.Equal("http://node:5000/memo.kvs.KeyValueStore/Fetch", request.RequestUri!.ToString());
        Assert.Equal("trailers", Header(request.Headers, "te"));
        Assert.Equal("application/grpc", Header(request.Content!.Headers, "content-type"));
        Assert.StartsWith("memo-dotnet/", Header(request.Headers, "user-agent"));
        Assert.Equal("acme", Header(request.Headers, "x-tenant"));
        Assert.True(GrpcTimeout.TryParse(Header(request.Headers, "grpc-timeout"), out var timeout));
        Assert.InRange(timeout, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
        Assert.Equal(Frame(new FetchRequest { Key = "k" }), handler.LastRequestBody);
    }

    [Fact]
    public async Task No_grpc_timeout_is_sent_without_a_deadline()
    {
        var handler = new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse(Frame(Value), ("grpc-status", "0"))));
        using var channel = Channel(handler);

        await channel.UnaryAsync(Fetch, new FetchRequest());

        Assert.False(handler.LastRequest!.Headers.Contains("grpc-timeout"));
    }

    [Theory]
    [InlineData("Grpc-Thing")]
    [InlineData("grpc-status")]
    [InlineData(":path")]
    [InlineData("content-type")]
    public async Task Invalid_request_metadata_names_are_rejected(string name)
    {
        using var channel = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse(Frame(Value), ("grpc-status", "0")))));

        await Assert.ThrowsAsync<ArgumentException>(() =>
            channel.UnaryAsync(Fetch, new FetchRequest(), new GrpcCallOptions { Headers = [new(name, "x")] }));
    }

    [Fact]
    public async Task Trailers_only_error_gives_the_status_decoded_message_and_metadata()
    {
        using var channel = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(
            TrailersOnly(("grpc-status", "5"), ("grpc-message", "key %22k%22 not found"), ("x-shard", "7")))));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()));

        Assert.Equal(GrpcStatusCode.NotFound, ex.Status);
        Assert.Equal("key \"k\" not found", ex.Message);
        Assert.Equal([new("x-shard", "7")], ex.Trailers!);
    }

    [Fact]
    public async Task Error_in_trailers_after_a_message_fails_the_unary_call()
    {
        using var channel = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(
            GrpcResponse(Frame(Value), ("grpc-status", "9"), ("grpc-message", "version conflict")))));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()));

        Assert.Equal(GrpcStatusCode.FailedPrecondition, ex.Status);
        Assert.Equal("version conflict", ex.Message);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, GrpcStatusCode.Unimplemented)]
    [InlineData(HttpStatusCode.ServiceUnavailable, GrpcStatusCode.Unavailable)]
    [InlineData(HttpStatusCode.BadRequest, GrpcStatusCode.Internal)]
    [InlineData(HttpStatusCode.Unauthorized, GrpcStatusCode.Unauthenticated)]
    [InlineData(HttpStatusCode.InternalServerError, GrpcStatusCode.Unknown)]
    public async Task Non_200_HTTP_status_maps_to_the_spec_gRPC_status(HttpStatusCode http, GrpcStatusCode expected)
    {
        using var channel = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(new HttpResponseMessage(http))));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()));

        Assert.Equal(expected, ex.Status);
    }

    [Fact]
    public async Task Non_gRPC_content_type_is_Internal()
    {
        using var channel = Channel(new FakeGrpcHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>") };
            return Task.FromResult(response);
        }));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()));

        Assert.Equal(GrpcStatusCode.Internal, ex.Status);
    }

    [Fact]
    public async Task Missing_grpc_status_is_Internal()
    {
        using var channel = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse(Frame(Value)))));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()));

        Assert.Equal(GrpcStatusCode.Internal, ex.Status);
    }

    [Fact]
    public async Task OK_without_a_message_and_two_messages_are_Internal_for_unary_calls()
    {
        using var none = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse([], ("grpc-status", "0")))));
        using var two = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse([.. Frame(Value), .. Frame(Value)], ("grpc-status", "0")))));

        Assert.Equal(GrpcStatusCode.Internal, (await Assert.ThrowsAsync<GrpcException>(() => none.UnaryAsync(Fetch, new FetchRequest()))).Status);
        Assert.Equal(GrpcStatusCode.Internal, (await Assert.ThrowsAsync<GrpcException>(() => two.UnaryAsync(Fetch, new FetchRequest()))).Status);
    }

    [Fact]
    public async Task Truncated_response_frame_is_Internal()
    {
        var body = Frame(Value)[..^1];
        using var channel = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse(body, ("grpc-status", "0")))));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()));

        Assert.Equal(GrpcStatusCode.Internal, ex.Status);
        Assert.Contains("Incomplete", ex.Message);
    }

    [Fact]
    public async Task Oversized_response_is_refused_from_its_prefix_without_waiting_for_the_payload()
    {
        var prefix = new byte[] { 0, 0, 0x10, 0, 0 }; // 1 MiB announced, never sent
        using var channel = Channel(
            new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse(new StreamContent(new StallingStream(prefix))))),
            new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()).WaitAsync(Patience));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.Status);
    }

    [Fact]
    public async Task Server_stream_frames_straddling_reads_are_reassembled()
    {
        var messages = Enumerable.Range(0, 50).Select(i => new FetchResponse { Value = Google.Protobuf.ByteString.CopyFromUtf8(new string('x', i * 37)) }).ToList();
        var body = messages.SelectMany(m => Frame(m)).ToArray();
        using var channel = Channel(new FakeGrpcHandler((_, _) =>
            Task.FromResult(GrpcResponse(new StreamContent(new TricklingStream(body, chunk: 3)), ("grpc-status", "0")))));

        var received = new List<FetchResponse>();
        await foreach (var message in channel.ServerStreamingAsync(Stream, new FetchRequest()))
        {
            received.Add(message);
        }

        Assert.Equal(messages, received);
    }

    [Fact]
    public async Task Deadline_expiry_is_DeadlineExceeded()
    {
        using var channel = Channel(new FakeGrpcHandler(async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        }));

        var ex = await Assert.ThrowsAsync<GrpcException>(() =>
            channel.UnaryAsync(Fetch, new FetchRequest(), GrpcCallOptions.WithTimeout(TimeSpan.FromMilliseconds(50))).WaitAsync(Patience));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.Status);
    }

    [Fact]
    public async Task Caller_cancellation_is_Cancelled()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var channel = Channel(new FakeGrpcHandler(async (_, ct) =>
        {
            entered.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        }));
        using var cts = new CancellationTokenSource();

        var call = channel.UnaryAsync(Fetch, new FetchRequest(), new GrpcCallOptions { CancellationToken = cts.Token });
        await entered.Task.WaitAsync(Patience);
        cts.Cancel();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => call.WaitAsync(Patience));
        Assert.Equal(GrpcStatusCode.Cancelled, ex.Status);
    }

    [Theory]
    [InlineData(0x8, GrpcStatusCode.Cancelled)]
    [InlineData(0x7, GrpcStatusCode.Unavailable)]
    [InlineData(0xb, GrpcStatusCode.ResourceExhausted)]
    [InlineData(0x2, GrpcStatusCode.Internal)]
    public async Task HTTP2_stream_resets_map_to_the_spec_gRPC_status(long errorCode, GrpcStatusCode expected)
    {
        using var channel = Channel(new FakeGrpcHandler((_, _) =>
            throw new HttpRequestException("reset", new HttpProtocolException(errorCode, "stream reset", null))));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()));

        Assert.Equal(expected, ex.Status);
    }

    [Fact]
    public async Task Nothing_listening_at_the_target_is_Unavailable_naming_the_target()
    {
        int port = ClosedPort();
        using var channel = new GrpcChannel($"127.0.0.1:{port}");

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Fetch, new FetchRequest()).WaitAsync(Patience));

        Assert.Equal(GrpcStatusCode.Unavailable, ex.Status);
        Assert.Contains($"127.0.0.1:{port} is not reachable", ex.Message);
    }

    [Fact]
    public async Task Nothing_listening_fails_streaming_calls_as_Unavailable_too()
    {
        int port = ClosedPort();
        using var channel = new GrpcChannel($"http://127.0.0.1:{port}");

        var ex = await Assert.ThrowsAsync<GrpcException>(async () =>
        {
            await foreach (var _ in channel.ServerStreamingAsync(Stream, new FetchRequest()))
            {
            }
        });

        Assert.Equal(GrpcStatusCode.Unavailable, ex.Status);
    }

    [Theory]
    [InlineData("node:5000", "http://node:5000/")]
    [InlineData("http://10.0.0.1:7000", "http://10.0.0.1:7000/")]
    [InlineData("https://node.example:443", "https://node.example/")]
    [InlineData("[::1]:5000", "http://[::1]:5000/")]
    public void Targets_are_host_port_or_http_urls(string target, string expected)
    {
        using var channel = new GrpcChannel(target);

        Assert.Equal(expected, channel.Address.ToString());
    }

    [Theory]
    [InlineData("ftp://node:21")]
    [InlineData("http://node:5000/some/path")]
    [InlineData("dns:///node:5000")]
    public void Invalid_targets_are_rejected(string target)
    {
        Assert.Throws<ArgumentException>(() => new GrpcChannel(target));
    }

    [Fact]
    public void Invalid_channel_options_are_all_reported_at_once()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GrpcChannel("node:1", new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 0,
            MaxSendMessageSize = -1,
            ConnectTimeout = TimeSpan.Zero,
        }));

        Assert.Contains(nameof(GrpcChannelOptions.MaxReceiveMessageSize), ex.Message);
        Assert.Contains(nameof(GrpcChannelOptions.MaxSendMessageSize), ex.Message);
        Assert.Contains(nameof(GrpcChannelOptions.ConnectTimeout), ex.Message);
    }

    [Fact]
    public async Task Calling_a_method_with_the_wrong_kind_is_an_argument_error()
    {
        using var channel = Channel(new FakeGrpcHandler((_, _) => Task.FromResult(GrpcResponse([], ("grpc-status", "0")))));

        await Assert.ThrowsAsync<ArgumentException>(() => channel.UnaryAsync(Stream, new FetchRequest()));
    }

    private static GrpcChannel Channel(FakeGrpcHandler handler, GrpcChannelOptions? options = null) =>
        new("node:5000", new GrpcChannelOptions
        {
            HttpMessageHandler = handler,
            MaxReceiveMessageSize = options?.MaxReceiveMessageSize ?? GrpcProtocol.DefaultMaxMessageSize,
        });

    private static string? Header(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
