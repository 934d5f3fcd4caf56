using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;

namespace Memo.Admin;

/// <summary>
/// What the node and its admin clients agree on: where the admin actor lives and how its messages are serialized.
/// </summary>
public static class AdminWire
{
    /// <summary>The admin actor's name under <c>/user</c> on every node.</summary>
    public const string ActorName = "memo-admin";

    /// <summary>
    /// The HOCON that binds <see cref="AdminWireSerializer"/> to every admin message type: merge it as a fallback of an
    /// ActorSystem's configuration (the node's, and the client's).
    /// </summary>
    public static Config SerializerConfig { get; } = CreateSerializerConfig();

    /// <summary>The path of the admin actor of the node of network <paramref name="network"/> whose remoting endpoint is
    /// <paramref name="host"/>:<paramref name="port"/>: <c>akka.tcp://network@host:port/user/memo-admin</c>.</summary>
    public static string ActorPath(string network, string host, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        var hostText = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return string.Create(CultureInfo.InvariantCulture, $"akka.tcp://{network}@{hostText}:{port}/user/{ActorName}");
    }

    /// <summary>Throws when <paramref name="system"/> would serialize an admin message with another serializer than
    /// <see cref="AdminWireSerializer"/> (its configuration lacks <see cref="SerializerConfig"/>).</summary>
    /// <exception cref="ArgumentException">An admin message type resolves to another serializer.</exception>
    public static void EnsureSerializer(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        var problems = AdminWireSerializer.Manifests.Keys
            .Select(type => (type, serializer: system.Serialization.FindSerializerForType(type)))
            .Where(x => x.serializer is not AdminWireSerializer)
            .Select(x => $"{x.type.Name} is serialized by {x.serializer.GetType().Name}, not {nameof(AdminWireSerializer)}.")
            .ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"The actor system '{system.Name}' is not configured for the admin messages (merge AdminWire.SerializerConfig as a fallback of its configuration): "
                + string.Join(" ", problems),
                nameof(system));
        }
    }

    private static Config CreateSerializerConfig()
    {
        var serializer = typeof(AdminWireSerializer);
        var text = new StringBuilder();
        text.AppendLine("akka.actor {");
        text.AppendLine(CultureInfo.InvariantCulture, $"  serializers.memo-admin-wire = \"{serializer.FullName}, {serializer.Assembly.GetName().Name}\"");
        text.AppendLine("  serialization-bindings {");
        foreach (var type in AdminWireSerializer.Manifests.Keys)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    \"{type.FullName}, {type.Assembly.GetName().Name}\" = memo-admin-wire");
        }
        text.AppendLine("  }");
        text.AppendLine("}");
        return ConfigurationFactory.ParseString(text.ToString());
    }
}
