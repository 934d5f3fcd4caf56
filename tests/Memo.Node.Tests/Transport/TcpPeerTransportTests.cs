using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using Memo.Node.Transport.Wire;
using Memo.Protocol.Security;
using static Memo.Node.Tests.Transport.PeerTestKit;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// What is <see cref="TcpPeerTransport"/>'s own beyond the contract: bad bytes on its port close that connection and
/// nothing else, the hello comes first and in time, accepted connections are bounded, and mutual TLS binds each
/// certificate's NodeId to the hello.
/// </summary>
public sealed class TcpPeerTransportTests : IAsyncLifetime
{
    private const string Network = "tcp-tests";
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);
    private readonly List<TcpPeerTransport> _transports = [];
    private readonly List<IDisposable> _disposables = [];
    private readonly TestLoggerFactory _logs = new();

    private static PeerTransportOptions Options { get; } = new()
    {
        ReconnectBackoffMin = TimeSpan.FromMilliseconds(10),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var transport in _transports)
        {
            await transport.DisposeAsync();
        }
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }
    }

    public static TheoryData<string, byte[]> BadOpenings => new()
    {
        { "a length over the frame limit", Frame(int.MaxValue, []) },
        { "a negative length", Frame(-1, []) },
        { "bytes that are not a batch", Frame(8, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) },
        { "a batch without a hello", Encode(BatchOf(new NodeId(7), "sneaked in")) },
        { "a hello from node 0", Encode(PeerWire.Hello(NodeId.None, "127.0.0.1:1", Network)) },
    };

    [Theory]
    [MemberData(nameof(BadOpenings))]
    public async Task A_bad_opening_closes_that_connection_and_the_transport_still_serves_good_peers(string what, byte[] opening)
    {
        var b = Start(2);
        var a = Start(1);
        using var raw = await ConnectRawAsync(b);

        await raw.GetStream().WriteAsync(opening);

        await AssertClosedByPeerAsync(raw, what);
        await EventuallyAsync(() => b.ClosedForErrors == 1, () => $"b to count the connection it closed ({what}): {b.ClosedForErrors}");
        await AssertServesAsync(a, b);
    }

    [Fact]
    public async Task A_bad_frame_after_a_good_hello_closes_that_connection_and_nothing_is_delivered()
    {
        var b = Start(2);
        var a = Start(1);
        using var raw = await ConnectRawAsync(b);
        var stream = raw.GetStream();
        await stream.WriteAsync(Encode(PeerWire.Hello(new NodeId(7), "127.0.0.1:1", Network)));
        var answer = await ReadFrameAsync(stream);
        Assert.Equal(b.LocalNode.Value, answer.Hello.Node);

        // A good batch first (delivered), then a length far over the limit.
        await stream.WriteAsync(Encode(BatchOf(new NodeId(7), "good")));
        Assert.Equal("good", Text((await b.Inbound.ReadAsync()).Message.Body));
        await stream.WriteAsync(Frame(b.Options.MaxBatchWireBytes + 1, []));

        await AssertClosedByPeerAsync(raw, "an oversized frame after the hello");
        await EventuallyAsync(() => b.ClosedForErrors == 1, () => $"b to count the connection it closed: {b.ClosedForErrors}");
        await AssertServesAsync(a, b);
    }

    [Fact]
    public async Task A_batch_claiming_another_sender_than_its_hello_closes_the_connection()
    {
        var b = Start(2);
        using var raw = await ConnectRawAsync(b);
        var stream = raw.GetStream();
        await stream.WriteAsync(Encode(PeerWire.Hello(new NodeId(7), "127.0.0.1:1", Network)));
        await ReadFrameAsync(stream);

        await stream.WriteAsync(Encode(BatchOf(new NodeId(8), "forged")));

        await AssertClosedByPeerAsync(raw, "a batch from another node than the hello's");
        Assert.False(b.Inbound.TryRead(out var leaked), $"b delivered a forged batch: {leaked}");
    }

    [Fact]
    public async Task A_connection_that_sends_no_hello_in_time_is_closed()
    {
        var b = Start(2, Options with { ConnectTimeout = TimeSpan.FromMilliseconds(300) });
        var a = Start(1);
        using var raw = await ConnectRawAsync(b);

        await AssertClosedByPeerAsync(raw, "silence past the hello timeout");
        await EventuallyAsync(() => b.ClosedForErrors == 1, () => $"b to count the silent connection: {b.ClosedForErrors}");
        Assert.Contains(_logs.Entries, e => e.Message.Contains("no hello within", StringComparison.Ordinal));
        await AssertServesAsync(a, b);
    }

    [Fact]
    public async Task A_hello_from_another_network_is_answered_with_this_network_and_closed()
    {
        var b = Start(2);
        using var raw = await ConnectRawAsync(b);
        var stream = raw.GetStream();

        await stream.WriteAsync(Encode(PeerWire.Hello(new NodeId(7), "127.0.0.1:1", "another-network")));

        var answer = await ReadFrameAsync(stream);
        Assert.Equal(Network, answer.Hello.NetworkId);
        await AssertClosedByPeerAsync(raw, "a hello from another network");
        Assert.Null(b.GetLinkStats(new NodeId(7)));
    }

    [Fact]
    public async Task Accepted_connections_beyond_twice_the_peer_limit_are_refused()
    {
        var b = Start(2, Options with { MaxPeers = 1 });
        using var first = await ConnectRawAsync(b);
        using var second = await ConnectRawAsync(b);
        await EventuallyAsync(() => b.RefusedConnections == 0, () => "nothing refused yet");

        using var third = await ConnectRawAsync(b);

        await AssertClosedByPeerAsync(third, "a third connection with a limit of two");
        Assert.Equal(1, b.RefusedConnections);
    }

    [Fact]
    public async Task Two_nodes_with_certificates_of_the_network_CA_talk_over_TLS()
    {
        using var authority = NetworkAuthority.Create(Network, Year);
        var a = Start(1, tls: Tls(authority, authority, 1));
        var b = Start(2, tls: Tls(authority, authority, 2));

        Assert.True(a.Send(b.LocalNode, b.AdvertisedAddress, PeerMessage.Forwarding(Bytes("a to b"))));
        Assert.True(b.Send(a.LocalNode, a.AdvertisedAddress, PeerMessage.Forwarding(Bytes("b to a"))));

        var atB = await b.Inbound.ReadAsync().AsTask().WaitAsync(Patience);
        var atA = await a.Inbound.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal((a.LocalNode, "a to b"), (atB.From, Text(atB.Message.Body)));
        Assert.Equal((b.LocalNode, "b to a"), (atA.From, Text(atA.Message.Body)));
    }

    [Fact]
    public async Task A_certificate_of_another_CA_is_refused()
    {
        using var authority = NetworkAuthority.Create(Network, Year);
        using var foreign = NetworkAuthority.Create(Network, Year);
        var a = Start(1, tls: Tls(foreign, authority, 1));
        var b = Start(2, tls: Tls(authority, authority, 2));

        await EventuallyAsync(
            () =>
            {
                a.Send(b.LocalNode, b.AdvertisedAddress, PeerMessage.Forwarding(Bytes("from outside the CA")));
                return b.ClosedForErrors > 0 && a.GetLinkStats(b.LocalNode)?.LastError is not null;
            },
            () => $"b to refuse a's certificate: closed {b.ClosedForErrors}, a's link {a.GetLinkStats(b.LocalNode)}");

        Assert.Contains(_logs.Entries, e => e.Message.Contains("not valid under the network CA", StringComparison.Ordinal));
        Assert.Equal(0, a.GetLinkStats(b.LocalNode)!.Sent);
        Assert.False(b.Inbound.TryRead(out var leaked), $"b accepted a message over a refused certificate: {leaked}");
    }

    [Fact]
    public async Task A_hello_whose_node_is_not_the_client_certificates_is_refused()
    {
        using var authority = NetworkAuthority.Create(Network, Year);
        // Node 1 holds node 7's certificate (stolen, or a misconfigured node): its hello says 1, its certificate 7.
        var a = Start(1, tls: Tls(authority, authority, 7));
        var b = Start(2, tls: Tls(authority, authority, 2));

        await EventuallyAsync(
            () =>
            {
                a.Send(b.LocalNode, b.AdvertisedAddress, PeerMessage.Forwarding(Bytes("as node 1")));
                return _logs.Entries.Any(e => e.Message.Contains($"the hello names node {new NodeId(1)} but the client certificate names node {new NodeId(7)}", StringComparison.Ordinal));
            },
            () => $"b to refuse the hello that contradicts the certificate: {string.Join("; ", _logs.Entries.Select(e => e.Message))}");

        Assert.Equal(0, a.GetLinkStats(b.LocalNode)!.Sent);
        Assert.False(b.Inbound.TryRead(out var leaked), $"b accepted a message from a contradicted hello: {leaked}");
    }

    [Fact]
    public async Task A_server_certificate_of_another_node_than_the_one_dialled_is_refused()
    {
        using var authority = NetworkAuthority.Create(Network, Year);
        var a = Start(1, tls: Tls(authority, authority, 1));
        // Node 2's listener presents node 9's certificate: a dials node 2 and must not trust it.
        var b = Start(2, tls: Tls(authority, authority, 9));

        await EventuallyAsync(
            () =>
            {
                a.Send(b.LocalNode, b.AdvertisedAddress, PeerMessage.Forwarding(Bytes("for node 2")));
                return a.GetLinkStats(b.LocalNode)?.LastError?.Contains($"names node {new NodeId(9)}, not the expected node {b.LocalNode}", StringComparison.Ordinal) == true;
            },
            () => $"a to refuse the server certificate of node 9: {a.GetLinkStats(b.LocalNode)}");

        Assert.Equal(0, a.GetLinkStats(b.LocalNode)!.Sent);
        Assert.False(b.Inbound.TryRead(out var leaked), $"b received from a link a refused: {leaked}");
    }

    [Fact]
    public async Task Blocked_and_lost_links_of_the_fault_injector_drop_as_on_Akka()
    {
        var faults = new PeerFaultInjector();
        var a = Start(1);
        var b = Start(2);
        a.FaultInjector = faults;
        b.FaultInjector = faults;
        await AssertServesAsync(a, b);

        faults.Block(a.LocalNode, b.LocalNode);
        Assert.False(a.Send(b.LocalNode, b.AdvertisedAddress, PeerMessage.Forwarding(Bytes("blocked"))), "a blocked send says it never left");
        faults.HealAll();
        faults.Lose(a.LocalNode, b.LocalNode, PeerChannelKind.Raft);
        Assert.True(a.Send(b.LocalNode, b.AdvertisedAddress, PeerMessage.Raft(new ShardId(3), Bytes("lost in flight"))), "a lost message leaves");
        Assert.True(a.Send(b.LocalNode, b.AdvertisedAddress, PeerMessage.Forwarding(Bytes("other kinds pass"))));

        var received = await b.Inbound.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal("other kinds pass", Text(received.Message.Body));
        Assert.Equal(1, faults.LostCount);
    }

    [Fact]
    public async Task A_send_naming_a_new_address_moves_the_link_there_and_ends_the_old_connection()
    {
        var a = Start(1);
        var old = Start(2);
        await AssertServesAsync(a, old);
        var lost = a.ConnectionLost(old.LocalNode);
        // Node 2 now also listens elsewhere (a restart on another port, as its member role would announce).
        var moved = Start(2);

        await AssertServesAsync(a, moved);

        Assert.True(lost.IsCancellationRequested, "the connection to the old address ended with the move");
        Assert.Equal(moved.AdvertisedAddress, a.GetLinkStats(moved.LocalNode)!.Address);
        Assert.False(old.Inbound.TryRead(out var leaked), $"the old address received after the move: {leaked}");
    }

    private TcpPeerTransport Start(ulong node, PeerTransportOptions? options = null, TcpPeerTls? tls = null)
    {
        var transport = new TcpPeerTransport(new NodeId(node), Network, new IPEndPoint(IPAddress.Loopback, 0), null, options ?? Options, _logs, tls);
        _transports.Add(transport);
        return transport;
    }

    private TcpPeerTls Tls(NetworkAuthority issuer, NetworkAuthority trusted, ulong certifiedNode)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issued = issuer.IssueNode(key, certifiedNode, ["127.0.0.1"], Year);
        var certificate = issued.CopyWithPrivateKey(key);
        var trust = NetworkTrust.Of(X509CertificateLoader.LoadCertificate(trusted.Certificate.RawData));
        _disposables.Add(certificate);
        _disposables.Add(trust);
        return new TcpPeerTls(certificate, trust);
    }

    private static async Task AssertServesAsync(TcpPeerTransport from, TcpPeerTransport to)
    {
        var body = "served " + Guid.NewGuid();
        Assert.True(from.Send(to.LocalNode, to.AdvertisedAddress, PeerMessage.Forwarding(Bytes(body))));
        var received = await to.Inbound.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal((from.LocalNode, body), (received.From, Text(received.Message.Body)));
    }

    private static async Task<TcpClient> ConnectRawAsync(TcpPeerTransport to)
    {
        var client = new TcpClient();
        await client.ConnectAsync(to.ListenEndPoint);
        return client;
    }

    /// <summary>Reads until the peer closes the connection (end of stream or reset), within <see cref="PeerTestKit.Patience"/>.</summary>
    private static async Task AssertClosedByPeerAsync(TcpClient client, string what)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(Patience);
        try
        {
            while (await client.GetStream().ReadAsync(buffer, deadline.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Reset by the peer: closed too.
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The transport kept the connection open after {what}");
        }
    }

    private static async Task<PeerBatch> ReadFrameAsync(Stream stream)
    {
        using var deadline = new CancellationTokenSource(Patience);
        var header = new byte[4];
        await stream.ReadExactlyAsync(header, deadline.Token);
        var body = new byte[BinaryPrimitives.ReadInt32LittleEndian(header)];
        await stream.ReadExactlyAsync(body, deadline.Token);
        return PeerBatch.Parser.ParseFrom(body);
    }

    private static PeerBatch BatchOf(NodeId from, string text)
    {
        var batch = new PeerBatch { Format = PeerWire.Format, FromNode = from.Value };
        batch.Frames.Add(PeerWire.ToFrame(PeerMessage.Forwarding(Bytes(text))));
        return batch;
    }

    private static byte[] Encode(PeerBatch batch)
    {
        var body = batch.ToByteArray();
        return Frame(body.Length, body);
    }

    private static byte[] Frame(int length, byte[] body)
    {
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, length);
        body.CopyTo(frame, 4);
        return frame;
    }
}
