using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Memo.Admin;
using Memo.Admin.Wire;
using Memo.Testing;

namespace Memo.Node.Tests.Admin;

/// <summary>
/// Every admin message that crosses the wire is serialized by <see cref="AdminWireSerializer"/> (protobuf) in the
/// node's ActorSystem and in the admin client's, never by Akka's JSON fallback or Hyperion.
/// </summary>
public sealed class AdminWireSerializerTests
{
    /// <summary>One instance of every wire type, as full as the format allows.</summary>
    private static readonly IReadOnlyList<object> Samples =
    [
        new AdminRequest { CorrelationId = 1, Show = new ShowRequest() },
        new AdminRequest { CorrelationId = ulong.MaxValue, Down = new DownRequest { Node = "0123456789abcdef" } },
        new AdminReply
        {
            CorrelationId = 7,
            Show = new ShowResponse
            {
                SelfId = "0123456789abcdef", SelfAddress = "127.0.0.1:5090", LeaderId = "0123456789abcdef", Converged = true, Serving = true,
                ShardCount = 64, ReplicationFactor = 3, NetworkName = "memo", EvictionDelayMs = 30_000, ViewVersion = 12,
                Members = { new MemberInfo { Id = "0123456789abcdef", Address = "127.0.0.1:5090", Status = MemberStatus.Up, Reachable = true, UpNumber = 1, Roles = { "remote=127.0.0.1:5091" } } },
            },
        },
        new AdminReply
        {
            CorrelationId = 8,
            Shards = new ShardsResponse { ShardCount = 1, ReplicationFactor = 3, EffectiveReplicationFactor = 1, Shards = { new ShardInfo { Shard = 0, Replicas = { "01" }, LeaderId = "01", AppliedIndex = 9, UnderReplicated = true } } },
        },
        new AdminReply { CorrelationId = 9, Error = new AdminError { Code = AdminErrorCode.NotFound, Message = "no member has id or address 'x'" } },
    ];

    [Fact]
    public void The_samples_cover_every_wire_type()
    {
        Assert.Equal(
            AdminWireSerializer.Manifests.Keys.Select(t => t.FullName).Order(),
            Samples.Select(s => s.GetType().FullName).Distinct().Order());
    }

    [Fact]
    public async Task Every_admin_wire_type_is_serialized_by_AdminWireSerializer_and_round_trips_in_the_clients_system()
    {
        var system = ActorSystem.Create("memo", AdminClient.ClientConfig);
        try
        {
            AssertEverySampleUsesAdminWireSerializer(system);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task Every_admin_wire_type_is_serialized_by_AdminWireSerializer_in_the_nodes_system()
    {
        await using var node = await TestNode.StartAsync(["memo.shards.count = 4"]);

        AssertEverySampleUsesAdminWireSerializer(node.Node.ActorSystem);
        AdminWire.EnsureSerializer(node.Node.ActorSystem);
    }

    [Fact]
    public async Task An_unknown_manifest_and_a_foreign_type_are_refused()
    {
        var system = ActorSystem.Create("memo", AdminClient.ClientConfig);
        try
        {
            var serializer = (AdminWireSerializer)system.Serialization.FindSerializerForType(typeof(AdminRequest));

            Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "Z"));
            Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.ToBinary("not a wire type"));
            Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.Manifest(new ShowRequest()));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_system_without_the_binding_serializes_admin_messages_otherwise_and_is_refused()
    {
        // The checks above can fail: a remote system without the binding picks Akka's default serializer.
        var bare = ActorSystem.Create("bare", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            """));
        try
        {
            Assert.IsNotType<AdminWireSerializer>(bare.Serialization.FindSerializerFor(new AdminRequest()));

            var ex = Assert.Throws<ArgumentException>(() => AdminWire.EnsureSerializer(bare));

            Assert.Contains("AdminRequest is serialized by", ex.Message);
            Assert.Contains("AdminReply is serialized by", ex.Message);
        }
        finally
        {
            await bare.Terminate();
        }
    }

    private static void AssertEverySampleUsesAdminWireSerializer(ActorSystem system)
    {
        foreach (var sample in Samples)
        {
            var serializer = system.Serialization.FindSerializerFor(sample);

            Assert.IsType<AdminWireSerializer>(serializer);
            Assert.Equal(AdminWireSerializer.SerializerId, serializer.Identifier);
            Assert.DoesNotContain("Json", serializer.GetType().Name, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Hyperion", serializer.GetType().FullName, StringComparison.OrdinalIgnoreCase);
            var manifest = Serialization.ManifestFor(serializer, sample);
            Assert.Equal(AdminWireSerializer.Manifests[sample.GetType()], manifest);
            var bytes = serializer.ToBinary(sample);
            Assert.Equal(sample, system.Serialization.Deserialize(bytes, serializer.Identifier, manifest));
        }
    }
}
