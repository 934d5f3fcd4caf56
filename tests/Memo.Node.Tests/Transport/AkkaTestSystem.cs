using Akka.Actor;
using Akka.Configuration;
using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

/// <summary>The configuration of the TestKit systems that host one <see cref="AkkaPeerTransport"/> whose peers are TestProbes.</summary>
internal static class AkkaTestSystem
{
    /// <summary>Remoting on an ephemeral loopback port (the transport needs a host and port to announce), the transport's HOCON as fallback.</summary>
    public static Config Config(PeerTransportOptions? options = null) =>
        ConfigurationFactory.ParseString("""
            akka {
              loglevel = WARNING
              actor.provider = remote
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
              # A link waits this long after an association ends before it says hello again.
              remote.retry-gate-closed-for = 100ms
            }
            """).WithFallback(AkkaPeerTransport.CreateConfig(options ?? new PeerTransportOptions()));

    /// <summary>Quick backoffs, so that a test that waits for the next attempt waits little.</summary>
    public static PeerTransportOptions Options { get; } = new()
    {
        ReconnectBackoffMin = TimeSpan.FromMilliseconds(10),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(50),
    };

    /// <summary>The Akka address a link derives from <paramref name="hostPort"/> in <paramref name="system"/>.</summary>
    public static Address AddressOf(ActorSystem system, string hostPort)
    {
        var own = ((ExtendedActorSystem)system).Provider.DefaultAddress;
        var endpoint = System.Net.IPEndPoint.Parse(hostPort);
        return new Address(own.Protocol, system.Name, endpoint.Address.ToString(), endpoint.Port);
    }
}
