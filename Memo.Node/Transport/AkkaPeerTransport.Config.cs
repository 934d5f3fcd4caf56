using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;

namespace Memo.Node.Transport;

public sealed partial class AkkaPeerTransport
{
    /// <summary>
    /// Bytes Akka.Remote adds around a batch in one frame: the envelope with the recipient's and the sender's paths
    /// (each under 500 characters: network id ≤ 128, host ≤ 256), the serializer id and manifest, sequence numbers.
    /// Rounded up generously; it costs nothing unless a frame is that large.
    /// </summary>
    internal const int EnvelopeAllowanceBytes = 16 * 1024;

    private const string FrameSizeKey = "akka.remote.dot-netty.tcp.maximum-frame-size";

    /// <summary>
    /// The HOCON the node's actor system needs for this transport with default <see cref="PeerTransportOptions"/>:
    /// merge it as a fallback of the host's configuration (<c>hostConfig.WithFallback(AkkaPeerTransport.DefaultConfig)</c>).
    /// The provider, host, port and system name remain the host's business.
    /// </summary>
    public static Config DefaultConfig { get; } = CreateConfig(new PeerTransportOptions());

    /// <summary>
    /// The HOCON for this transport with <paramref name="options"/>: binds <see cref="PeerWireSerializer"/> to every
    /// wire type and sizes Akka.Remote's frames for <see cref="PeerTransportOptions.MaxBatchWireBytes"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid, or their largest batch cannot fit an Akka frame.</exception>
    public static Config CreateConfig(PeerTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        long frame = RequiredFrameSize(options);
        if (frame > int.MaxValue)
        {
            throw new ArgumentException($"The largest batch ({options.MaxBatchWireBytes} bytes) leaves no room for Akka's envelope under 2 GiB.", nameof(options));
        }
        var serializer = typeof(PeerWireSerializer);
        var text = new StringBuilder();
        text.AppendLine("akka.actor {");
        text.AppendLine(CultureInfo.InvariantCulture, $"  serializers.memo-peer-wire = \"{serializer.FullName}, {serializer.Assembly.GetName().Name}\"");
        text.AppendLine("  serialization-bindings {");
        foreach (var type in PeerWireSerializer.Manifests.Keys)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    \"{type.FullName}, {type.Assembly.GetName().Name}\" = memo-peer-wire");
        }
        text.AppendLine("  }");
        text.AppendLine("}");
        // The frame holds the largest batch: MaxBatchBytes of bodies plus per-frame overhead, or one message of
        // MaxMessageBytes (a batch always takes one message), plus Akka's envelope. Larger frames would be dropped by
        // the sender ("oversized payload") and would end the connection at the receiver. What bounds it: Raft chunks
        // snapshots and large values below MaxMessageBytes, so no frame holds the single connection (which also carries
        // Akka's heartbeats) for more than one batch's transfer time. Socket buffers of a frame's size let one frame
        // be written without waiting for the peer to read (Linux caps them at net.core.wmem_max / rmem_max).
        text.AppendLine(CultureInfo.InvariantCulture, $"akka.remote.dot-netty.tcp.maximum-frame-size = {frame}b");
        text.AppendLine(CultureInfo.InvariantCulture, $"akka.remote.dot-netty.tcp.send-buffer-size = {frame}b");
        text.AppendLine(CultureInfo.InvariantCulture, $"akka.remote.dot-netty.tcp.receive-buffer-size = {frame}b");
        return ConfigurationFactory.ParseString(text.ToString());
    }

    /// <summary>The smallest <c>maximum-frame-size</c> that carries every batch these options allow.</summary>
    public static long RequiredFrameSize(PeerTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return (long)options.MaxBatchWireBytes + EnvelopeAllowanceBytes;
    }

    /// <summary>Refuses a system whose configuration would silently lose batches: no serializer binding, frames too small.</summary>
    private static void CheckSystemConfig(ActorSystem system, PeerTransportOptions options)
    {
        var problems = new List<string>();
        foreach (var type in PeerWireSerializer.Manifests.Keys)
        {
            var serializer = system.Serialization.FindSerializerForType(type);
            if (serializer is not PeerWireSerializer)
            {
                problems.Add($"{type.Name} is serialized by {serializer.GetType().Name}, not {nameof(PeerWireSerializer)}.");
            }
        }
        long required = RequiredFrameSize(options);
        long frame = system.Settings.Config.GetByteSize(FrameSizeKey, 0) ?? 0;
        if (frame < required)
        {
            problems.Add($"{FrameSizeKey} is {frame} bytes; the largest batch of these options needs {required}.");
        }
        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"The actor system '{system.Name}' is not configured for the peer transport (merge AkkaPeerTransport.CreateConfig(options) or DefaultConfig as a fallback of its configuration): "
                + string.Join(" ", problems),
                nameof(system));
        }
    }
}
