using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Google.Protobuf;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;
using Memo.Node.Transport.Wire;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// Every message that crosses the wire is serialized by <see cref="PeerWireSerializer"/> (protobuf), never by Akka's
/// JSON fallback or Hyperion; and the transport refuses a system that is not configured that way.
/// </summary>
public sealed class PeerWireSerializerTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(AkkaTestSystem.Config(), "wire", output)
{
    /// <summary>One instance of every wire type, as full as the format allows.</summary>
    private static readonly IReadOnlyList<object> Samples =
    [
        new PeerBatch
        {
            Format = PeerWire.Format,
            FromNode = ulong.MaxValue,
            Frames =
            {
                new PeerFrame { Kind = 4, Body = ByteString.CopyFromUtf8("forwarded") },
                new PeerFrame { Kind = 2, Shard = 0, Body = ByteString.CopyFrom(0, 255, 1) },
                new PeerFrame { Kind = 4 },
            },
        },
        PeerWire.Hello(new NodeId(42), "127.0.0.1:4000", "network-a"),
        new ClusterProbe(),
        new ClusterProbeAnswer { InCluster = true },
    ];

    [Fact]
    public void The_samples_cover_every_wire_type()
    {
        Assert.Equal(
            PeerWireSerializer.Manifests.Keys.Select(t => t.FullName).Order(),
            Samples.Select(s => s.GetType().FullName).Distinct().Order());
    }

    [Fact]
    public void Every_wire_type_is_serialized_by_PeerWireSerializer_and_round_trips()
    {
        foreach (var sample in Samples)
        {
            var serializer = Sys.Serialization.FindSerializerFor(sample);

            Assert.IsType<PeerWireSerializer>(serializer);
            Assert.Equal(PeerWireSerializer.SerializerId, serializer.Identifier);
            Assert.DoesNotContain("Json", serializer.GetType().Name, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Hyperion", serializer.GetType().FullName, StringComparison.OrdinalIgnoreCase);
            var manifest = Serialization.ManifestFor(serializer, sample);
            Assert.Equal(PeerWireSerializer.Manifests[sample.GetType()], manifest);
            var bytes = serializer.ToBinary(sample);
            Assert.Equal(sample, Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest));
        }
    }

    [Fact]
    public void An_unknown_manifest_is_refused()
    {
        var serializer = (PeerWireSerializer)Sys.Serialization.FindSerializerForType(typeof(PeerBatch));

        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "Z"));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.ToBinary("not a wire type"));
    }

    [Fact]
    public void The_default_config_sizes_frames_for_the_largest_batch_of_the_default_options()
    {
        var defaults = new PeerTransportOptions();
        long frame = AkkaPeerTransport.DefaultConfig.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size", 0) ?? 0;

        Assert.Equal(AkkaPeerTransport.RequiredFrameSize(defaults), frame);
        Assert.True(frame > defaults.MaxBatchWireBytes, $"frame {frame} must exceed the largest batch {defaults.MaxBatchWireBytes} by Akka's envelope");
        Assert.True(frame > 128_000, "Akka's default frame size would reject multi-MiB values");
        Assert.Equal(frame, AkkaPeerTransport.DefaultConfig.GetByteSize("akka.remote.dot-netty.tcp.send-buffer-size", 0));
        Assert.Equal(frame, AkkaPeerTransport.DefaultConfig.GetByteSize("akka.remote.dot-netty.tcp.receive-buffer-size", 0));
    }

    [Fact]
    public async Task Without_the_transport_config_a_batch_is_not_serialized_by_PeerWireSerializer_and_the_transport_refuses_the_system()
    {
        // The check above can fail: a remote system without the transport's HOCON picks another serializer.
        var bare = ActorSystem.Create("bare", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            """));
        try
        {
            Assert.IsNotType<PeerWireSerializer>(bare.Serialization.FindSerializerFor(new PeerBatch()));

            var ex = Assert.Throws<ArgumentException>(() => new AkkaPeerTransport(bare, new NodeId(1), new PeerTransportOptions(), new TestLoggerFactory()));

            Assert.Contains("PeerBatch is serialized by", ex.Message);
            Assert.Contains("maximum-frame-size is 128000 bytes", ex.Message);
        }
        finally
        {
            await bare.Terminate();
        }
    }

    [Fact]
    public void The_transport_refuses_options_whose_largest_batch_exceeds_the_systems_frame_size()
    {
        var larger = new PeerTransportOptions { MaxMessageBytes = 8 * 1024 * 1024, MaxQueuedBytes = 64L * 1024 * 1024 };

        var ex = Assert.Throws<ArgumentException>(() => new AkkaPeerTransport(Sys, new NodeId(1), larger, new TestLoggerFactory()));

        Assert.Contains($"needs {AkkaPeerTransport.RequiredFrameSize(larger)}", ex.Message);
    }

    [Fact]
    public async Task The_transport_refuses_a_system_without_remoting()
    {
        var local = ActorSystem.Create("local", ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(AkkaPeerTransport.DefaultConfig));
        try
        {
            var ex = Assert.Throws<ArgumentException>(() => new AkkaPeerTransport(local, new NodeId(1), new PeerTransportOptions(), new TestLoggerFactory()));

            Assert.Contains("akka.actor.provider = remote", ex.Message);
        }
        finally
        {
            await local.Terminate();
        }
    }
}
