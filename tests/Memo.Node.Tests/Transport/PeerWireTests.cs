using Google.Protobuf;
using Grpc.Core;
using Memo.Node.Transport;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Tests.Transport;

/// <summary>The envelope: frames round-trip through their wire form, and hellos are checked field by field.</summary>
public sealed class PeerWireTests
{
    private const string Network = "net";
    private static readonly NodeId Local = new(1);
    private static readonly NodeId Remote = new(2);

    [Theory]
    [InlineData(PeerChannelKind.Forwarding, null)]
    [InlineData(PeerChannelKind.Raft, 0)]
    [InlineData(PeerChannelKind.Raft, 1023)]
    public void A_message_survives_its_wire_form(PeerChannelKind kind, int? shard)
    {
        var message = new PeerMessage(kind, shard is { } s ? new ShardId(s) : null, new byte[] { 1, 2, 3 });

        var wire = PeerFrame.Parser.ParseFrom(PeerWire.ToFrame(message).ToByteArray());

        Assert.True(PeerWire.TryFromFrame(wire, 100, out var back));
        Assert.Equal(kind, back.Channel);
        Assert.Equal(message.Shard, back.Shard);
        Assert.Equal([1, 2, 3], back.Body.ToArray());
    }

    [Fact]
    public void Malformed_frames_are_rejected()
    {
        Assert.False(PeerWire.TryFromFrame(new PeerFrame { Kind = 0 }, 100, out _));
        // 1 (gossip) and 3 (admin) are retired kinds: a frame of either is malformed, never read as something new.
        Assert.False(PeerWire.TryFromFrame(new PeerFrame { Kind = 1 }, 100, out _));
        Assert.False(PeerWire.TryFromFrame(new PeerFrame { Kind = 3 }, 100, out _));
        Assert.False(PeerWire.TryFromFrame(new PeerFrame { Kind = 5 }, 100, out _));
        Assert.False(PeerWire.TryFromFrame(new PeerFrame { Kind = 2, Shard = -1 }, 100, out _));
        Assert.False(PeerWire.TryFromFrame(new PeerFrame { Kind = 4, Body = ByteString.CopyFrom(new byte[101]) }, 100, out _));
        Assert.True(PeerWire.TryFromFrame(new PeerFrame { Kind = 4, Body = ByteString.CopyFrom(new byte[100]) }, 100, out _));
    }

    [Fact]
    public void A_good_hello_is_accepted_with_the_peer_identity()
    {
        var check = PeerWire.CheckHello(PeerWire.Hello(Remote, "10.0.0.2:7000", Network), Local, Network, expected: Remote);

        Assert.True(check.Accepted, check.Error);
        Assert.Equal(Remote, check.Node);
        Assert.Equal("10.0.0.2:7000", check.Address);
    }

    [Fact]
    public void Bad_hellos_are_refused_with_a_status_and_a_reason()
    {
        AssertRefused(StatusCode.FailedPrecondition, "format 7", Hello(h => h.Format = 7));
        AssertRefused(StatusCode.InvalidArgument, "hello", Hello(h => h.Hello = null));
        AssertRefused(StatusCode.InvalidArgument, "may be 0", Hello(h => { h.Hello.Node = 0; h.FromNode = 0; }));
        AssertRefused(StatusCode.InvalidArgument, "comes from", Hello(h => h.FromNode = 3));
        AssertRefused(StatusCode.InvalidArgument, "too long", Hello(h => h.Hello.NetworkId = new string('n', 129)));
        AssertRefused(StatusCode.FailedPrecondition, "network id mismatch: node 0000000000000001 is in network 'net', node 0000000000000002 at 10.0.0.2:7000 is in network 'other'",
            Hello(h => h.Hello.NetworkId = "other"));
        AssertRefused(StatusCode.FailedPrecondition, "itself", Hello(h => { h.Hello.Node = Local.Value; h.FromNode = Local.Value; }));
        AssertRefused(StatusCode.InvalidArgument, "cannot carry frames", Hello(h => h.Frames.Add(new PeerFrame { Kind = 1 })));
        var wrongNode = PeerWire.CheckHello(PeerWire.Hello(Remote, "10.0.0.2:7000", Network), Local, Network, expected: new NodeId(9));
        Assert.Equal(StatusCode.FailedPrecondition, wrongNode.Status);
        Assert.Contains("not the expected node", wrongNode.Error);
    }

    [Fact]
    public void Batches_after_the_hello_must_keep_format_and_sender()
    {
        Assert.Null(PeerWire.CheckBatch(new PeerBatch { Format = PeerWire.Format, FromNode = Remote.Value }, Remote));
        Assert.NotNull(PeerWire.CheckBatch(new PeerBatch { Format = 2, FromNode = Remote.Value }, Remote));
        Assert.NotNull(PeerWire.CheckBatch(new PeerBatch { Format = PeerWire.Format, FromNode = 3 }, Remote));
        Assert.NotNull(PeerWire.CheckBatch(PeerWire.Hello(Remote, "a:1", Network), Remote));
    }

    [Fact]
    public void A_full_batch_stays_within_the_announced_wire_size()
    {
        var options = new PeerTransportOptions { MaxBatchMessages = 100, MaxBatchBytes = 10_000, MaxMessageBytes = 50_000 };
        var many = new PeerBatch { Format = PeerWire.Format, FromNode = ulong.MaxValue };
        for (int i = 0; i < options.MaxBatchMessages; i++)
        {
            many.Frames.Add(PeerWire.ToFrame(PeerMessage.Raft(new ShardId(int.MaxValue), new byte[options.MaxBatchBytes / options.MaxBatchMessages])));
        }
        var single = new PeerBatch { Format = PeerWire.Format, FromNode = ulong.MaxValue };
        single.Frames.Add(PeerWire.ToFrame(PeerMessage.Raft(new ShardId(int.MaxValue), new byte[options.MaxMessageBytes])));
        var hello = PeerWire.Hello(new NodeId(ulong.MaxValue), new string('a', PeerWire.MaxAddressLength), new string('n', PeerWire.MaxNetworkIdLength));

        Assert.InRange(many.CalculateSize(), 0, options.MaxBatchWireBytes);
        Assert.InRange(single.CalculateSize(), 0, options.MaxBatchWireBytes);
        Assert.InRange(hello.CalculateSize(), 0, options.MaxBatchWireBytes);
    }

    [Fact]
    public void A_message_rejects_an_unknown_kind_or_a_negative_shard()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerMessage((PeerChannelKind)3, null, default));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerMessage(PeerChannelKind.Raft, new ShardId(-1), default));
    }

    private static PeerBatch Hello(Action<PeerBatch> change)
    {
        var hello = PeerWire.Hello(Remote, "10.0.0.2:7000", Network);
        change(hello);
        return hello;
    }

    private static void AssertRefused(StatusCode status, string reason, PeerBatch hello)
    {
        var check = PeerWire.CheckHello(hello, Local, Network, NodeId.None);
        Assert.False(check.Accepted);
        Assert.Equal(status, check.Status);
        Assert.Contains(reason, check.Error);
    }
}
