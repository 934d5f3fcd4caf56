using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using Memo.Node.Transport.Wire;
using Xunit.Abstractions;
using static Memo.Node.Tests.Transport.PeerTestKit;

namespace Memo.Node.Tests.Transport;

/// <summary>What only the gRPC transport has: the wire (hellos, batches, malformed input), batching, and its server's lifecycle.</summary>
public sealed class GrpcPeerTransportTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Network = "contract";

    private static readonly PeerTransportOptions Options = new()
    {
        ReconnectBackoffMin = TimeSpan.FromMilliseconds(10),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
    };

    private readonly List<IAsyncDisposable> _owned = [];
    private readonly TestLoggerFactory _logs = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
        var errors = GrpcPeerHost.Errors(_logs).ToList();
        Assert.True(errors.Count == 0, "A peer host logged errors:\n" + string.Join("\n", errors));
    }

    [Fact]
    public async Task Garbage_on_the_link_stream_ends_that_call_and_the_node_keeps_serving_links()
    {
        var b = await StartNodeAsync(2);
        var a = await StartNodeAsync(1);
        using var raw = new RawLinkClient(b.Address);
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);

        var bodies = new List<byte[]>
        {
            // A frame whose protobuf claims a field longer than the message.
            RawLinkClient.Frame([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            // A valid hello followed by a frame that does not parse.
            RawLinkClient.Frame(PeerWire.Hello(new NodeId(5), "10.0.0.5:1", Network)).Concat(RawLinkClient.Frame([0x1A, 0x05, 0x08])).ToArray(),
            // A length prefix promising more than is sent.
            RawLinkClient.Prefix(1000),
        };
        for (int i = 0; i < 40; i++)
        {
            var garbage = new byte[random.Next(1, 300)];
            random.NextBytes(garbage);
            bodies.Add(i % 2 == 0 ? garbage : RawLinkClient.Frame(garbage));
        }

        foreach (var body in bodies)
        {
            var response = await raw.PostAsync(body);
            Assert.True(response.Status is { } status && status != StatusCode.OK,
                $"garbage {Convert.ToHexString(body.AsSpan(0, Math.Min(body.Length, 32)))} ended with {response.Status} {response.Message}");
        }

        a.Send(b, PeerMessage.Gossip(Bytes("still linked")));
        Assert.Equal("still linked", Text(await ReceiveAsync(b, "a real peer's message after the garbage")));
    }

    [Fact]
    public async Task A_stream_that_does_not_start_with_a_hello_is_refused()
    {
        var b = await StartNodeAsync(2);
        using var channel = GrpcChannel.ForAddress($"http://{b.Address}");
        using var call = new PeerService.PeerServiceClient(channel).Link();
        var batch = new PeerBatch { Format = PeerWire.Format, FromNode = 5 };
        batch.Frames.Add(PeerWire.ToFrame(PeerMessage.Gossip(Bytes("no hello"))));

        await call.RequestStream.WriteAsync(batch);
        var refusal = await RefusalAsync(call);

        Assert.Equal(StatusCode.InvalidArgument, refusal.StatusCode);
        Assert.Contains("hello", refusal.Status.Detail);
        Assert.False(b.Transport.Inbound.TryRead(out _));
    }

    [Fact]
    public async Task A_hello_from_another_network_is_refused_with_FailedPrecondition_naming_both_networks()
    {
        var b = await StartNodeAsync(2);
        using var channel = GrpcChannel.ForAddress($"http://{b.Address}");
        using var call = new PeerService.PeerServiceClient(channel).Link();

        await call.RequestStream.WriteAsync(PeerWire.Hello(new NodeId(5), "10.0.0.5:1", "elsewhere"));
        var refusal = await RefusalAsync(call);

        Assert.Equal(StatusCode.FailedPrecondition, refusal.StatusCode);
        Assert.Contains("network id mismatch", refusal.Status.Detail);
        Assert.Contains("'elsewhere'", refusal.Status.Detail);
        Assert.Contains($"'{Network}'", refusal.Status.Detail);
    }

    [Fact]
    public async Task A_hello_of_a_newer_format_is_refused()
    {
        var b = await StartNodeAsync(2);
        using var channel = GrpcChannel.ForAddress($"http://{b.Address}");
        using var call = new PeerService.PeerServiceClient(channel).Link();
        var hello = PeerWire.Hello(new NodeId(5), "10.0.0.5:1", Network);
        hello.Format = 2;

        await call.RequestStream.WriteAsync(hello);
        var refusal = await RefusalAsync(call);

        Assert.Equal(StatusCode.FailedPrecondition, refusal.StatusCode);
        Assert.Contains("format 2", refusal.Status.Detail);
    }

    [Fact]
    public async Task A_stream_stalled_before_its_hello_is_refused_after_the_hello_timeout()
    {
        var b = await StartNodeAsync(2, Options with { HelloTimeout = TimeSpan.FromMilliseconds(200) });
        using var raw = new RawLinkClient(b.Address);
        using var stall = new CancellationTokenSource();

        // Two bytes of a frame prefix, then nothing: the node must not wait for the rest forever.
        var response = await raw.PostAsync(new StallingContent([0, 0], stall.Token)).WaitAsync(Patience);
        await stall.CancelAsync();

        Assert.Equal(StatusCode.DeadlineExceeded, response.Status);
        Assert.Contains("No hello", response.Message);
    }

    [Fact]
    public async Task An_accepted_stream_answers_the_hello_and_delivers_its_well_formed_frames()
    {
        var b = await StartNodeAsync(2);
        var remote = new NodeId(77);
        using var channel = GrpcChannel.ForAddress($"http://{b.Address}");
        using var call = new PeerService.PeerServiceClient(channel).Link();

        await call.RequestStream.WriteAsync(PeerWire.Hello(remote, "10.0.0.77:7000", Network));
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Patience), "b ended the link instead of answering the hello");
        var hello = call.ResponseStream.Current;
        Assert.Equal(b.Node.Value, hello.Hello.Node);
        Assert.Equal(b.Address, hello.Hello.Address);
        Assert.Equal(Network, hello.Hello.NetworkId);

        var batch = new PeerBatch { Format = PeerWire.Format, FromNode = remote.Value };
        batch.Frames.Add(PeerWire.ToFrame(PeerMessage.Gossip(Bytes("one"))));
        batch.Frames.Add(new PeerFrame { Kind = 9, Body = ByteString.CopyFromUtf8("unknown kind") });
        batch.Frames.Add(new PeerFrame { Kind = (uint)PeerChannelKind.Raft, Shard = -1, Body = ByteString.CopyFromUtf8("negative shard") });
        batch.Frames.Add(PeerWire.ToFrame(PeerMessage.Raft(new ShardId(4), Bytes("two"))));
        await call.RequestStream.WriteAsync(batch);

        var received = await ReceiveManyAsync(b, 2, "the two well-formed frames from node 77");
        Assert.All(received, m => Assert.Equal(remote, m.From));
        Assert.Equal(["one", "two"], received.Select(Text));
        Assert.Equal(new ShardId(4), received[1].Message.Shard);
        await EventuallyAsync(
            () => b.Transport.GetLinkStats(remote) is { Received: 2, MalformedFrames: 2, InboundLinks: 1, Address: "10.0.0.77:7000" },
            () => $"b's stats for node 77 to count 2 received, 2 malformed, 1 stream: {b.Transport.GetLinkStats(remote)}");
    }

    [Fact]
    public async Task A_batch_claiming_another_sender_ends_the_link()
    {
        var b = await StartNodeAsync(2);
        using var channel = GrpcChannel.ForAddress($"http://{b.Address}");
        using var call = new PeerService.PeerServiceClient(channel).Link();
        await call.RequestStream.WriteAsync(PeerWire.Hello(new NodeId(77), "10.0.0.77:7000", Network));
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Patience), "b ended the link instead of answering the hello");

        var forged = new PeerBatch { Format = PeerWire.Format, FromNode = 78 };
        forged.Frames.Add(PeerWire.ToFrame(PeerMessage.Gossip(Bytes("forged"))));
        await call.RequestStream.WriteAsync(forged);
        var refusal = await RefusalAsync(call);

        Assert.Equal(StatusCode.InvalidArgument, refusal.StatusCode);
        Assert.Contains("claims to come from", refusal.Status.Detail);
        Assert.False(b.Transport.Inbound.TryRead(out _));
    }

    [Fact]
    public async Task Messages_queued_while_the_link_connects_travel_in_batches_up_to_the_limit()
    {
        await using var fake = await FakePeerServer.StartAsync(PeerWire.Hello(new NodeId(2), "fake", Network), holdHello: true);
        var a = await StartNodeAsync(1, Options with { MaxBatchMessages = 64 });
        var peer = new NodeId(2);

        // The fake withholds its hello, so the link stays Connecting and everything sent now waits in the queue.
        for (int i = 0; i < 200; i++)
        {
            a.Transport.Send(peer, fake.Address, PeerMessage.Raft(new ShardId(i % 64), BitConverter.GetBytes(i)));
        }
        Assert.Equal(200, a.Transport.GetLinkStats(peer)!.Queued);
        fake.HelloGate.SetResult();
        await fake.WaitForBatchesAsync(4, "200 messages in batches of at most 64");

        Assert.Equal([64, 64, 64, 8], fake.Received.Select(b => b.Frames.Count));
        var sequence = fake.Received.SelectMany(b => b.Frames).Select(f => BitConverter.ToInt32(f.Body.Span));
        Assert.Equal(Enumerable.Range(0, 200), sequence);
        await EventuallyAsync(() => a.Transport.GetLinkStats(peer) is { Sent: 200, SentBatches: 4 }, () => $"a to count 200 sent in 4 batches: {a.Transport.GetLinkStats(peer)}");
    }

    [Fact]
    public async Task Frames_the_peer_sends_back_on_a_dialled_stream_are_delivered()
    {
        var reply = new PeerBatch { Format = PeerWire.Format, FromNode = 2 };
        reply.Frames.Add(PeerWire.ToFrame(PeerMessage.Gossip(Bytes("answer on your stream"))));
        await using var fake = await FakePeerServer.StartAsync(PeerWire.Hello(new NodeId(2), "fake", Network), [reply]);
        var a = await StartNodeAsync(1);

        a.Transport.Send(new NodeId(2), fake.Address, PeerMessage.Gossip(Bytes("open the link")));
        var received = await ReceiveAsync(a, "the frame node 2 sent back on a's own stream");

        Assert.Equal(new NodeId(2), received.From);
        Assert.Equal("answer on your stream", Text(received));
    }

    [Fact]
    public async Task A_dialled_peer_answering_from_another_network_is_dropped()
    {
        await using var fake = await FakePeerServer.StartAsync(PeerWire.Hello(new NodeId(2), "fake", "elsewhere"));
        var a = await StartNodeAsync(1);
        var peer = new NodeId(2);

        await EventuallyAsync(
            () =>
            {
                a.Transport.Send(peer, fake.Address, PeerMessage.Gossip(Bytes("x")));
                return a.Transport.GetLinkStats(peer)?.LastError?.Contains("network id mismatch", StringComparison.Ordinal) == true;
            },
            () => $"a's link to report the peer's network: {a.Transport.GetLinkStats(peer)}");

        Assert.Empty(fake.Received);
        Assert.Equal(0, a.Transport.GetLinkStats(peer)!.Sent);
    }

    [Fact]
    public async Task A_dialled_peer_that_never_answers_the_hello_is_unreachable_after_the_connect_timeout()
    {
        await using var fake = await FakePeerServer.StartAsync(PeerWire.Hello(new NodeId(2), "fake", Network), holdHello: true);
        var a = await StartNodeAsync(1, Options with { ConnectTimeout = TimeSpan.FromMilliseconds(300), ReconnectBackoffMin = TimeSpan.FromSeconds(30), ReconnectBackoffMax = TimeSpan.FromSeconds(30) });
        var peer = new NodeId(2);

        a.Transport.Send(peer, fake.Address, PeerMessage.Gossip(Bytes("waits for the hello")));
        await EventuallyAsync(
            () => a.Transport.GetLinkStats(peer) is { State: PeerLinkState.Unreachable, DroppedUnreachable: 1 },
            () => $"a's link to give up on the silent peer and drop its message: {a.Transport.GetLinkStats(peer)}");
        a.Transport.Send(peer, fake.Address, PeerMessage.Gossip(Bytes("during the backoff")));

        var stats = a.Transport.GetLinkStats(peer)!;
        Assert.Contains("exchanging hellos took over", stats.LastError);
        Assert.Equal(2, stats.DroppedUnreachable);
        Assert.Equal(0, stats.Sent);
        Assert.Empty(fake.Received);
    }

    [Fact]
    public async Task A_message_larger_than_the_grpc_default_limit_arrives_because_the_host_raises_it_for_the_link()
    {
        // Grpc.AspNetCore refuses messages over 4 MiB unless the service's MaxReceiveMessageSize is raised, as
        // GrpcPeerHost does with MaxBatchWireBytes; the default MaxMessageBytes is exactly 4 MiB of body.
        var a = await StartNodeAsync(1);
        var b = await StartNodeAsync(2);
        var large = new byte[Options.MaxMessageBytes];
        new Random(5).NextBytes(large);

        a.Send(b, PeerMessage.Raft(new ShardId(1), large));
        var received = await ReceiveAsync(b, "the 4 MiB message");

        Assert.True(large.AsSpan().SequenceEqual(received.Message.Body.Span), "the 4 MiB body arrived altered");
    }

    [Fact]
    public async Task Disposing_the_transport_ends_accepted_streams_so_the_server_stops_without_its_grace_period()
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        var (transport, server) = await GrpcPeerHost.StartAsync(new NodeId(2), endpoint, Options, Network, _logs, TimeSpan.FromHours(1));
        var b = new TestPeer(transport, server.Address, Options, Network, async () =>
        {
            await transport.DisposeAsync();
            await server.DisposeAsync();
        });
        _owned.Add(b);
        var a = await StartNodeAsync(1);
        await SendUntilReceivedAsync(a, b, "link a to b");

        await transport.DisposeAsync();
        // With the stream still open, a graceful stop would wait an hour.
        await server.StopAsync().WaitAsync(Patience);

        await EventuallyAsync(() => a.StatsFor(b) is { Connected: false, LastError: not null }, () => $"a to see its link to b end: {a.StatsFor(b)}");
    }

    [Fact]
    public void The_constructor_rejects_invalid_options_listing_every_problem()
    {
        var bad = new PeerTransportOptions { QueueCapacity = 0, MaxBatchBytes = -1, ReconnectBackoffMin = TimeSpan.FromSeconds(2), ReconnectBackoffMax = TimeSpan.FromSeconds(1) };

        var ex = Assert.Throws<ArgumentException>(() => new GrpcPeerTransport(new NodeId(1), "127.0.0.1:1", Network, bad, new TestLoggerFactory()));

        Assert.Contains(nameof(PeerTransportOptions.QueueCapacity), ex.Message);
        Assert.Contains(nameof(PeerTransportOptions.MaxBatchBytes), ex.Message);
        Assert.Contains(nameof(PeerTransportOptions.ReconnectBackoffMax), ex.Message);
        Assert.Throws<ArgumentException>(() => new GrpcPeerTransport(NodeId.None, "127.0.0.1:1", Network, Options, new TestLoggerFactory()));
        Assert.Throws<ArgumentException>(() => new GrpcPeerTransport(new NodeId(1), "127.0.0.1:1", "", Options, new TestLoggerFactory()));
    }

    private async Task<TestPeer> StartNodeAsync(ulong id, PeerTransportOptions? options = null)
    {
        options ??= Options;
        // The hello announces the address the transport is given before the server binds, so pick a free port first.
        IPEndPoint bound;
        using (var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            bound = (IPEndPoint)probe.LocalEndPoint!;
        }
        var (transport, server) = await GrpcPeerHost.StartAsync(new NodeId(id), bound, options, Network, _logs);
        var peer = new TestPeer(transport, bound.ToString(), options, Network, async () =>
        {
            await transport.DisposeAsync();
            await server.DisposeAsync();
        });
        _owned.Add(peer);
        return peer;
    }

    /// <summary>The status the node ends <paramref name="call"/> with; fails the test if it answers or ends the call OK.</summary>
    private static async Task<RpcException> RefusalAsync(AsyncDuplexStreamingCall<PeerBatch, PeerBatch> call)
    {
        var read = call.ResponseStream.MoveNext();
        return await Assert.ThrowsAsync<RpcException>(() => read.WaitAsync(Patience));
    }

    /// <summary>Request content that writes a few bytes and then stalls until cancelled.</summary>
    private sealed class StallingContent(byte[] prefix, CancellationToken stall) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(prefix, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            using var both = CancellationTokenSource.CreateLinkedTokenSource(stall, cancellationToken);
            try
            {
                await Task.Delay(Timeout.Infinite, both.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
