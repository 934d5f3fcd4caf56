using System.Collections.Concurrent;
using System.Net;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Memo.Node.Tests.Api.Grpc;
using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// Starts an <see cref="AkkaPeerTransport"/> the way a node will: an actor system named after the network, remoting
/// on a loopback endpoint, the transport's HOCON merged as a fallback.
/// </summary>
internal static class AkkaPeerHost
{
    /// <summary>
    /// Test settings, not the node's: quiet logs, and a short gate after a failed association (Akka's default of
    /// 5 s would make "a peer that comes up later" tests wait it out). <see cref="FallbackTripwire"/> replaces Akka's
    /// JSON fallback for <c>System.Object</c>, so that anything sent across the wire without its own binding fails.
    /// </summary>
    public static Config TestConfig(IPEndPoint endpoint, string adapters = "", int? publicPort = null) => ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = ERROR
          stdout-loglevel = ERROR
          actor {
            provider = remote
            serializers.tripwire = "{{typeof(FallbackTripwire).AssemblyQualifiedName}}"
            serialization-bindings { "System.Object" = tripwire }
          }
          remote {
            retry-gate-closed-for = 100ms
            dot-netty.tcp {
              hostname = "{{endpoint.Address}}"
              port = {{endpoint.Port}}
              {{(publicPort is { } claimed ? $"public-hostname = \"{endpoint.Address}\"\n              public-port = {claimed}" : "")}}
              applied-adapters = [{{adapters}}]
            }
          }
        }
        """);

    public static (ActorSystem System, AkkaPeerTransport Transport) Start(
        NodeId node,
        IPEndPoint endpoint,
        PeerTransportOptions options,
        string networkId,
        TestLoggerFactory logs,
        string adapters = "",
        int? publicPort = null)
    {
        // publicPort: the port this system claims as its own in every association (Akka's public-port), whatever it binds.
        var system = ActorSystem.Create(networkId, TestConfig(endpoint, adapters, publicPort).WithFallback(AkkaPeerTransport.CreateConfig(options)));
        try
        {
            return (system, new AkkaPeerTransport(system, node, options, logs, new Random((int)node.Value)));
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw;
        }
    }
}

/// <summary>
/// Bound to <c>System.Object</c> in test systems instead of Akka's JSON serializer: records every type that reached
/// the fallback and refuses it, so that a message type without its own (protobuf) binding cannot cross the wire unseen.
/// </summary>
public sealed class FallbackTripwire(ExtendedActorSystem system) : Serializer(system)
{
    public static ConcurrentQueue<string> Tripped { get; } = new();

    public override int Identifier => 4199;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        Tripped.Enqueue(obj.GetType().FullName ?? "?");
        throw new InvalidOperationException($"{obj.GetType()} has no serializer binding of its own and fell back to System.Object.");
    }

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new InvalidOperationException($"A message for {type} arrived through the System.Object fallback.");
}
