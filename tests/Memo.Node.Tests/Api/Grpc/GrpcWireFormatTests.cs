using System.Buffers.Binary;
using System.Net;
using Google.Protobuf;
using Memo.Node.Api.Grpc;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;
using static Memo.Node.Tests.Api.Grpc.RawGrpcClient;
using static Memo.Node.Tests.Api.Grpc.TestEchoService;

namespace Memo.Node.Tests.Api.Grpc;

/// <summary>
/// The server against hand-made HTTP/2 requests: the exact response shape, and malformed gRPC. After every
/// malformed request the server must still answer a normal call.
/// </summary>
public sealed class GrpcWireFormatTests
{
    private const string EchoPath = "/test.Echo/Echo";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Successful_unary_response_is_status_200_grpc_content_type_one_frame_and_OK_trailers()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync(EchoPath, Frame(Request("hi")));

        Assert.Equal(200, response.HttpStatus);
        Assert.Equal("application/grpc", response.ContentType);
        Assert.False(response.IsTrailersOnly);
        Assert.Equal("0", response.Trailers.GetValues("grpc-status").Single());
        Assert.Equal(0, response.Body[0]);
        int length = BinaryPrimitives.ReadInt32BigEndian(response.Body.AsSpan(1));
        Assert.Equal(response.Body.Length - 5, length);
        Assert.Equal("hi", FetchResponse.Parser.ParseFrom(response.Body.AsSpan(5)).Value.ToStringUtf8());
    }

    [Fact]
    public async Task Error_before_any_message_is_a_trailers_only_response_with_percent_encoded_message()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync("/test.Echo/Fail", Frame(Request("50% é")));

        Assert.Equal(200, response.HttpStatus);
        Assert.True(response.IsTrailersOnly);
        Assert.Empty(response.Body);
        Assert.Equal("5", response.Headers.GetValues("grpc-status").Single());
        Assert.Equal("50%25 %C3%A9", response.Headers.GetValues("grpc-message").Single());
        Assert.Equal("from-handler", response.Headers.GetValues("x-detail").Single());
    }

    [Fact]
    public async Task Error_after_messages_arrives_in_trailers()
    {
        var method = new GrpcMethod<FetchRequest, FetchResponse>(ServiceName, "HalfWay", GrpcMethodKind.ServerStreaming, FetchRequest.Parser, FetchResponse.Parser);
        await using var server = await GrpcTestServer.StartAsync(register: r => r.AddServerStreaming(method, async (_, writer, _) =>
        {
            await writer.WriteAsync(Reply("one"));
            throw new GrpcException(GrpcStatusCode.Aborted, "half way");
        }));

        var response = await server.Raw.PostAsync("/test.Echo/HalfWay", Frame(Request("x")));

        Assert.False(response.IsTrailersOnly);
        Assert.Equal("10", response.Trailers.GetValues("grpc-status").Single());
        Assert.Equal("half way", response.Message);
        Assert.Equal(5 + Reply("one").CalculateSize(), response.Body.Length);
    }

    [Fact]
    public async Task Non_POST_request_is_HTTP_405()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.SendAsync(HttpMethod.Get, EchoPath, null, null);

        Assert.Equal(405, response.HttpStatus);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Non_gRPC_content_type_is_HTTP_415()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var json = await server.Raw.SendAsync(HttpMethod.Post, EchoPath, new ByteArrayContent("{}"u8.ToArray()), "application/json");
        var grpcWeb = await server.Raw.SendAsync(HttpMethod.Post, EchoPath, new ByteArrayContent(Frame(Request("x"))), "application/grpc-web");

        Assert.Equal(415, json.HttpStatus);
        Assert.Equal(415, grpcWeb.HttpStatus);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Grpc_content_type_with_a_subtype_is_accepted()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.SendAsync(HttpMethod.Post, EchoPath, new ByteArrayContent(Frame(Request("x"))), "application/grpc+proto");

        Assert.Equal(GrpcStatusCode.OK, response.Status);
    }

    [Fact]
    public async Task Unknown_path_is_Unimplemented_trailers_only()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync("/test.Echo/Missing", Frame(Request("x")));

        Assert.Equal(200, response.HttpStatus);
        Assert.True(response.IsTrailersOnly);
        Assert.Equal(GrpcStatusCode.Unimplemented, response.Status);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0 }, "body ends inside the prefix")]
    [InlineData(new byte[] { 0, 0, 0, 0, 10, 1, 2, 3 }, "body ends inside the message")]
    public async Task Truncated_frame_is_Internal_incomplete_message(byte[] body, string because)
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync(EchoPath, body);

        Assert.True(GrpcStatusCode.Internal == response.Status, because);
        Assert.Contains("Incomplete gRPC message", response.Message);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Truncated_frame_on_a_request_stream_is_Internal()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync("/test.Echo/Concat", [.. Frame(Request("a")), 0, 0, 0, 0, 9, 1]);

        Assert.Equal(GrpcStatusCode.Internal, response.Status);
        Assert.Contains("Incomplete gRPC message", response.Message);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Compressed_frame_without_grpc_encoding_is_Internal()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync(EchoPath, Frame(Request("x").ToByteArray(), flag: 1));

        Assert.Equal(GrpcStatusCode.Internal, response.Status);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Compressed_frame_with_an_unsupported_encoding_is_Unimplemented_with_accept_encoding()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync(EchoPath, Frame(Request("x").ToByteArray(), flag: 1), ("grpc-encoding", "gzip"));

        Assert.Equal(GrpcStatusCode.Unimplemented, response.Status);
        Assert.Equal("identity", response.Value("grpc-accept-encoding"));
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Invalid_compressed_flag_is_Internal()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync(EchoPath, Frame(Request("x").ToByteArray(), flag: 7));

        Assert.Equal(GrpcStatusCode.Internal, response.Status);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Unparseable_protobuf_is_InvalidArgument()
    {
        await using var server = await GrpcTestServer.StartAsync();

        // Field 1, length-delimited, claims 5 bytes but only 1 follows.
        var response = await server.Raw.PostAsync(EchoPath, Frame([0x0A, 0x05, 0x61]));

        Assert.Equal(GrpcStatusCode.InvalidArgument, response.Status);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Unary_call_with_no_request_message_is_Internal()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync(EchoPath, []);

        Assert.Equal(GrpcStatusCode.Internal, response.Status);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Unary_call_with_two_request_messages_is_Internal()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync(EchoPath, [.. Frame(Request("a")), .. Frame(Request("b"))]);

        Assert.Equal(GrpcStatusCode.Internal, response.Status);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Oversized_request_is_refused_from_its_prefix_while_the_body_is_still_open()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcServerOptions { MaxReceiveMessageSize = 1024 });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Only the prefix (claiming 100 MB) is ever sent, and the body stays open: the answer can only come from the prefix.
        var body = new HeldOpenContent(Prefix(0, 100_000_000), release.Task);

        try
        {
            var response = await server.Raw.SendAsync(HttpMethod.Post, EchoPath, body, GrpcProtocol.ContentType).WaitAsync(Patience);

            Assert.Equal(GrpcStatusCode.ResourceExhausted, response.Status);
        }
        finally
        {
            release.TrySetResult();
        }
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Server_answers_DeadlineExceeded_when_the_grpc_timeout_expires()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync("/test.Echo/WaitForCancel", Frame(Request("x")), ("grpc-timeout", "100m"));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, response.Status);
        Assert.True(server.Service.Cancelled.Task.IsCompleted);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Handler_that_outlives_the_deadline_still_ends_with_DeadlineExceeded()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync("/test.Echo/OutliveDeadline", Frame(Request("x")), ("grpc-timeout", "50m"));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, response.Status);
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task Invalid_grpc_timeout_is_ignored()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Raw.PostAsync(EchoPath, Frame(Request("x")), ("grpc-timeout", "123456789S"));

        Assert.Equal(GrpcStatusCode.OK, response.Status);
    }

    [Fact]
    public async Task Request_sent_in_many_small_chunks_is_reassembled()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var frames = Frame(Request(new string('z', 10_000)));

        var response = await server.Raw.SendAsync(HttpMethod.Post, EchoPath, new ChunkedContent(frames, chunk: 7), GrpcProtocol.ContentType);

        Assert.Equal(GrpcStatusCode.OK, response.Status);
        Assert.Equal(10_000, FetchResponse.Parser.ParseFrom(response.Body.AsSpan(5)).Value.Length);
    }

    /// <summary>Writes some bytes, then keeps the request body open until released.</summary>
    private sealed class HeldOpenContent(byte[] bytes, Task release) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(bytes);
            await stream.FlushAsync();
            await release;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>Writes the body in tiny flushed chunks, so frames straddle reads.</summary>
    private sealed class ChunkedContent(byte[] bytes, int chunk) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (int i = 0; i < bytes.Length; i += chunk)
            {
                await stream.WriteAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
