using System.Runtime.CompilerServices;
using System.Text;
using Memo.Node.Api.Grpc;
using Memo.Protocol.Grpc;
using Memo.Protocol.Kvs;
using Microsoft.Extensions.Logging;
using static Memo.Node.Tests.Api.Grpc.TestEchoService;

namespace Memo.Node.Tests.Api.Grpc;

/// <summary>Our client against our server: every call kind, statuses, deadlines, cancellation, limits, concurrency.</summary>
public sealed class GrpcEndToEndTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Unary_call_returns_the_handler_response()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Channel.UnaryAsync(Echo, Request("hello"));

        Assert.Equal("hello", response.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Server_streaming_returns_every_message_in_order()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var received = new List<string>();
        await foreach (var message in server.Channel.ServerStreamingAsync(Count, Request("100")))
        {
            received.Add(message.Value.ToStringUtf8());
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString()), received);
    }

    [Fact]
    public async Task Server_streaming_with_no_messages_completes_empty()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var received = new List<FetchResponse>();
        await foreach (var message in server.Channel.ServerStreamingAsync(Count, Request("0")))
        {
            received.Add(message);
        }

        Assert.Empty(received);
    }

    [Fact]
    public async Task Client_streaming_sees_every_request_message()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Channel.ClientStreamingAsync(Concat, Requests("a", "b", "c"));

        Assert.Equal("a;b;c;", response.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Client_streaming_with_no_requests_gets_the_response()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var response = await server.Channel.ClientStreamingAsync(Concat, Requests());

        Assert.Equal(string.Empty, response.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Client_streaming_rethrows_the_failure_of_the_request_sequence()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var ex = await Assert.ThrowsAsync<ArithmeticException>(() => server.Channel.ClientStreamingAsync(Concat, FailingRequests()));

        Assert.Equal("source broke", ex.Message);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Duplex_streaming_answers_each_request_before_the_next_is_sent()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var call = server.Channel.DuplexStreaming(Chat);
        await using var responses = call.Responses.GetAsyncEnumerator();

        // Ping-pong: each answer arrives while the request side is still open, so the streams are independent.
        for (int i = 0; i < 10; i++)
        {
            await call.WriteAsync(Request($"m{i}"));
            Assert.True(await responses.MoveNextAsync());
            Assert.Equal($"re:m{i}", responses.Current.Value.ToStringUtf8());
        }
        await call.CompleteAsync();

        Assert.True(await responses.MoveNextAsync());
        Assert.Equal("bye", responses.Current.Value.ToStringUtf8());
        Assert.False(await responses.MoveNextAsync());
    }

    [Fact]
    public async Task Server_failing_a_client_stream_early_ends_the_call_with_its_status_and_stops_the_source()
    {
        var method = new GrpcMethod<FetchRequest, FetchResponse>(ServiceName, "RejectAfterOne", GrpcMethodKind.ClientStreaming, FetchRequest.Parser, FetchResponse.Parser);
        await using var server = await GrpcTestServer.StartAsync(register: r => r.AddClientStreaming<FetchRequest, FetchResponse>(method, async (requests, _) =>
        {
            await foreach (var request in requests)
            {
                throw new GrpcException(GrpcStatusCode.PermissionDenied, "no more");
            }
            throw new GrpcException(GrpcStatusCode.Internal, "expected a request");
        }));
        var sourceStopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var ex = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.ClientStreamingAsync(method, EndlessRequests(sourceStopped)));

        Assert.Equal(GrpcStatusCode.PermissionDenied, ex.Status);
        await sourceStopped.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task Duplex_writes_after_the_server_failed_report_the_server_status()
    {
        var method = new GrpcMethod<FetchRequest, FetchResponse>(ServiceName, "Refuse", GrpcMethodKind.DuplexStreaming, FetchRequest.Parser, FetchResponse.Parser);
        await using var server = await GrpcTestServer.StartAsync(register: r => r.AddDuplexStreaming<FetchRequest, FetchResponse>(method, (_, _, _) =>
            throw new GrpcException(GrpcStatusCode.FailedPrecondition, "refused")));
        using var call = server.Channel.DuplexStreaming(method);

        var readFailure = await Assert.ThrowsAsync<GrpcException>(async () =>
        {
            await foreach (var _ in call.Responses)
            {
            }
        });
        var writeFailure = await Assert.ThrowsAsync<GrpcException>(() => call.WriteAsync(Request("late")).AsTask());

        Assert.Equal(GrpcStatusCode.FailedPrecondition, readFailure.Status);
        Assert.Equal(GrpcStatusCode.FailedPrecondition, writeFailure.Status);
        Assert.Equal("refused", writeFailure.Message);
    }

    [Fact]
    public async Task Duplex_responses_can_be_enumerated_only_once()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var call = server.Channel.DuplexStreaming(Chat);
        await call.CompleteAsync();

        var responses = new List<string>();
        await foreach (var message in call.Responses)
        {
            responses.Add(message.Value.ToStringUtf8());
        }

        Assert.Equal(["bye"], responses);
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in call.Responses)
            {
            }
        });
    }

    [Fact]
    public async Task Handler_GrpcException_reaches_the_client_with_its_status_message_and_trailers()
    {
        await using var server = await GrpcTestServer.StartAsync();
        const string detail = "no such key: 100% ünïcødé\r\nline two";

        var ex = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.UnaryAsync(Fail, Request(detail)));

        Assert.Equal(GrpcStatusCode.NotFound, ex.Status);
        Assert.Equal(detail, ex.Message);
        Assert.Contains(new KeyValuePair<string, string>("x-detail", "from-handler"), ex.Trailers!);
    }

    [Fact]
    public async Task Handler_crash_is_Unknown_with_a_generic_message_and_the_details_are_logged()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.UnaryAsync(Crash, Request("x")));

        Assert.Equal(GrpcStatusCode.Unknown, ex.Status);
        Assert.DoesNotContain("secret", ex.Message);
        Assert.Contains(server.Logs.Entries, e => e.Level == LogLevel.Error && e.Exception?.Message == "secret internal detail");
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Unknown_method_and_unknown_service_are_Unimplemented()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var missingMethod = new GrpcMethod<FetchRequest, FetchResponse>(ServiceName, "Nope", GrpcMethodKind.Unary, FetchRequest.Parser, FetchResponse.Parser);
        var missingService = new GrpcMethod<FetchRequest, FetchResponse>("test.Nothing", "Echo", GrpcMethodKind.Unary, FetchRequest.Parser, FetchResponse.Parser);

        var methodEx = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.UnaryAsync(missingMethod, Request("x")));
        var serviceEx = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.UnaryAsync(missingService, Request("x")));

        Assert.Equal(GrpcStatusCode.Unimplemented, methodEx.Status);
        Assert.Contains("Nope", methodEx.Message);
        Assert.Equal(GrpcStatusCode.Unimplemented, serviceEx.Status);
        Assert.Contains("test.Nothing", serviceEx.Message);
    }

    [Fact]
    public async Task Many_concurrent_unary_calls_over_one_channel_all_succeed()
    {
        await using var server = await GrpcTestServer.StartAsync();
        const int calls = 2000;
        const int concurrency = 64;
        int next = -1;
        var failures = new List<string>();

        async Task WorkerAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < calls)
            {
                var key = $"call-{i}";
                var response = await server.Channel.UnaryAsync(Echo, Request(key));
                if (response.Value.ToStringUtf8() != key)
                {
                    lock (failures)
                    {
                        failures.Add($"{key} -> {response.Value.ToStringUtf8()}");
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkerAsync))).WaitAsync(Patience * 4);

        Assert.Empty(failures);
        Assert.True(next >= calls);
    }

    [Fact]
    public async Task Client_cancellation_cancels_the_server_handler()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var cts = new CancellationTokenSource();

        var call = server.Channel.UnaryAsync(WaitForCancel, Request("x"), new GrpcCallOptions { CancellationToken = cts.Token });
        await server.Service.Started.Task.WaitAsync(Patience);
        cts.Cancel();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => call);
        Assert.Equal(GrpcStatusCode.Cancelled, ex.Status);
        await server.Service.Cancelled.Task.WaitAsync(Patience);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Breaking_out_of_a_server_stream_cancels_the_server_handler()
    {
        await using var server = await GrpcTestServer.StartAsync();

        await foreach (var message in server.Channel.ServerStreamingAsync(Endless, Request("x")))
        {
            Assert.Equal("first", message.Value.ToStringUtf8());
            await server.Service.Started.Task.WaitAsync(Patience);
            break;
        }

        await server.Service.Cancelled.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task Disposing_an_unfinished_duplex_call_cancels_the_server_handler()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var started = new TaskCompletionSource<GrpcCallContext>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hold = new GrpcMethod<FetchRequest, FetchResponse>(ServiceName, "Hold", GrpcMethodKind.DuplexStreaming, FetchRequest.Parser, FetchResponse.Parser);
        await using var custom = await GrpcTestServer.StartAsync(register: registry => registry.AddDuplexStreaming(hold, async (requests, writer, context) =>
        {
            started.TrySetResult(context);
            try
            {
                await foreach (var _ in requests)
                {
                }
            }
            catch (Exception) when (context.CancellationToken.IsCancellationRequested)
            {
                cancelled.TrySetResult();
                throw;
            }
        }));

        var call = custom.Channel.DuplexStreaming(hold);
        await call.WriteAsync(Request("one"));
        await started.Task.WaitAsync(Patience);
        call.Dispose();

        await cancelled.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task Client_deadline_ends_the_call_with_DeadlineExceeded_and_cancels_the_handler()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var ex = await Assert.ThrowsAsync<GrpcException>(() =>
            server.Channel.UnaryAsync(WaitForCancel, Request("x"), GrpcCallOptions.WithTimeout(TimeSpan.FromMilliseconds(200))));

        Assert.True(ex.Status == GrpcStatusCode.DeadlineExceeded, ex.ToString());
        var context = await server.Service.Started.Task.WaitAsync(Patience);
        Assert.NotNull(context.Deadline);
        await server.Service.Cancelled.Task.WaitAsync(Patience);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task An_expired_deadline_fails_without_sending_the_call()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var ex = await Assert.ThrowsAsync<GrpcException>(() =>
            server.Channel.UnaryAsync(WaitForCancel, Request("x"), new GrpcCallOptions { Deadline = DateTime.UtcNow.AddSeconds(-1) }));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.Status);
        Assert.False(server.Service.Started.Task.IsCompleted);
    }

    [Fact]
    public async Task Handler_sees_the_request_metadata_peer_and_method()
    {
        var seen = new TaskCompletionSource<(string? Header, string Peer, string Method)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = new GrpcMethod<FetchRequest, FetchResponse>(ServiceName, "Probe", GrpcMethodKind.Unary, FetchRequest.Parser, FetchResponse.Parser);
        await using var server = await GrpcTestServer.StartAsync(register: registry => registry.AddUnary(probe, (request, context) =>
        {
            seen.TrySetResult((context.RequestHeaders["x-tenant"].ToString(), context.Peer, context.Method));
            return ValueTask.FromResult(Reply("ok"));
        }));

        await server.Channel.UnaryAsync(probe, Request("x"), new GrpcCallOptions { Headers = [new("x-tenant", "acme")] });

        var (header, peer, method) = await seen.Task;
        Assert.Equal("acme", header);
        Assert.StartsWith("ipv4:127.0.0.1:", peer);
        Assert.Equal("/test.Echo/Probe", method);
    }

    [Fact]
    public async Task Request_larger_than_the_server_limit_is_ResourceExhausted()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcServerOptions { MaxReceiveMessageSize = 1024 });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.UnaryAsync(Echo, Request(new string('x', 2048))));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.Status);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Response_larger_than_the_client_limit_is_ResourceExhausted()
    {
        await using var server = await GrpcTestServer.StartAsync(channelOptions: new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.UnaryAsync(Big, Request("4096")));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.Status);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Response_larger_than_the_server_send_limit_is_ResourceExhausted()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcServerOptions { MaxSendMessageSize = 1024 });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.UnaryAsync(Big, Request("4096")));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.Status);
    }

    [Fact]
    public async Task Request_larger_than_the_client_send_limit_fails_before_sending()
    {
        await using var server = await GrpcTestServer.StartAsync(channelOptions: new GrpcChannelOptions { MaxSendMessageSize = 100 });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => server.Channel.UnaryAsync(Echo, Request(new string('x', 200))));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.Status);
    }

    [Fact]
    public async Task Messages_larger_than_the_HTTP2_windows_go_through_both_ways()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var big = new string('k', 3 * 1024 * 1024);

        var echoed = await server.Channel.UnaryAsync(Echo, Request(big));
        var large = await server.Channel.UnaryAsync(Big, Request((5 * 1024 * 1024).ToString()));

        Assert.Equal(big.Length, echoed.Value.Length);
        Assert.Equal(5 * 1024 * 1024, large.Value.Length);
    }

    [Fact]
    public async Task Registering_a_method_twice_or_after_start_throws()
    {
        var registry = new GrpcServiceRegistry();
        registry.AddUnary(Echo, (r, _) => ValueTask.FromResult(Reply(r.Key)));

        Assert.Throws<InvalidOperationException>(() => registry.AddUnary(Echo, (r, _) => ValueTask.FromResult(Reply(r.Key))));
        Assert.Throws<ArgumentException>(() => registry.AddServerStreaming(Echo, (_, _, _) => Task.CompletedTask));

        await using var server = await GrpcServer.StartAsync(
            new GrpcServerOptions { Endpoints = [new(System.Net.IPAddress.Loopback, 0)] }, registry, new TestLoggerFactory(), CancellationToken.None);
        Assert.NotEqual(0, server.BoundEndpoints[0].Port);
        Assert.Throws<InvalidOperationException>(() => registry.AddUnary(Fail, (r, _) => ValueTask.FromResult(Reply(r.Key))));
    }

    [Fact]
    public async Task Invalid_server_options_are_all_reported_at_once()
    {
        var options = new GrpcServerOptions { MaxReceiveMessageSize = 0, MaxSendMessageSize = -1, Addresses = ["nonsense"] };

        var ex = await Assert.ThrowsAsync<ArgumentException>(() =>
            GrpcServer.StartAsync(options, new GrpcServiceRegistry(), new TestLoggerFactory(), CancellationToken.None));

        Assert.Contains(nameof(GrpcServerOptions.MaxReceiveMessageSize), ex.Message);
        Assert.Contains(nameof(GrpcServerOptions.MaxSendMessageSize), ex.Message);
        Assert.Contains("nonsense", ex.Message);
    }

    [Fact]
    public async Task Server_listens_on_host_port_addresses()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcServerOptions { Addresses = ["127.0.0.1:0"] });

        Assert.NotEqual(0, server.Server.BoundEndpoints[0].Port);
        await server.AssertServesAsync();
    }

    [Fact]
    public async Task Graceful_stop_lets_an_in_flight_call_finish_then_refuses_new_calls()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcServerOptions { ShutdownGracePeriod = TimeSpan.FromSeconds(30) });

        var inFlight = server.Channel.UnaryAsync(Gate, Request("finished"));
        await server.Service.Started.Task.WaitAsync(Patience);
        var stopping = server.Server.StopAsync(CancellationToken.None);
        server.Service.GateOpen.SetResult();

        var response = await inFlight.WaitAsync(Patience);
        await stopping.WaitAsync(Patience);
        Assert.Equal("finished", response.Value.ToStringUtf8());

        using var fresh = new GrpcChannel(server.Target);
        var ex = await Assert.ThrowsAsync<GrpcException>(() => fresh.UnaryAsync(Echo, Request("late")));
        Assert.Equal(GrpcStatusCode.Unavailable, ex.Status);
    }

    private static async IAsyncEnumerable<FetchRequest> Requests(params string[] keys)
    {
        foreach (var key in keys)
        {
            await Task.Yield();
            yield return Request(key);
        }
    }

    private static async IAsyncEnumerable<FetchRequest> EndlessRequests(TaskCompletionSource stopped, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            for (int i = 0; ; i++)
            {
                yield return Request($"r{i}");
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
        }
        finally
        {
            stopped.TrySetResult();
        }
    }

    private static async IAsyncEnumerable<FetchRequest> FailingRequests([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return Request("ok");
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        throw new ArithmeticException("source broke");
    }
}
