using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Google.Protobuf;
using Memo.Node.Transport.Wire;

namespace Memo.Node.Transport;

/// <summary>
/// The Akka serializer of every message <see cref="AkkaPeerTransport"/> sends across the wire: the
/// <c>memo.peer</c> protobuf bytes (Protos/memo_peer.proto) behind a one-letter manifest per type.
/// Bound in HOCON by <see cref="AkkaPeerTransport.DefaultConfig"/>; without that binding Akka would fall back
/// to its JSON serializer, which is slower and would not be the documented wire format.
/// </summary>
/// <remarks>
/// The identifier is <see cref="SerializerId"/> (4100) for ever: it travels in every remote envelope, so a node
/// that changed it could not read its peers. Akka reserves 0–100; Memo's serializers use 4100 and up (the 41xx
/// range matches the transport's log event ids). Manifests are never reused either: a new message type gets a
/// new letter, and a node that does not know a manifest refuses the message (Akka logs it and drops it).
/// </remarks>
public sealed class PeerWireSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer identifier written in every remote envelope.</summary>
    public const int SerializerId = 4100;

    /// <summary>Manifest of <see cref="PeerBatch"/>: every batch of frames, and the hellos (a batch with only a hello).</summary>
    internal const string BatchManifest = "B";

    /// <summary>Manifest of <see cref="ClusterProbe"/>: a restarting node asks whether a recorded member is in a cluster.</summary>
    internal const string ProbeManifest = "P";

    /// <summary>Manifest of <see cref="ClusterProbeAnswer"/>.</summary>
    internal const string ProbeAnswerManifest = "Q";

    /// <summary>Every type that crosses the wire, with its manifest; the HOCON bindings are generated from this list.</summary>
    internal static readonly IReadOnlyDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        [typeof(PeerBatch)] = BatchManifest,
        [typeof(ClusterProbe)] = ProbeManifest,
        [typeof(ClusterProbeAnswer)] = ProbeAnswerManifest,
    };

    /// <summary>Called by Akka's serialization extension, once per actor system.</summary>
    public PeerWireSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => obj switch
    {
        PeerBatch batch => batch.ToByteArray(),
        ClusterProbe probe => probe.ToByteArray(),
        ClusterProbeAnswer answer => answer.ToByteArray(),
        _ => throw new SerializationException($"{nameof(PeerWireSerializer)} cannot serialize {obj?.GetType().FullName ?? "null"}."),
    };

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        BatchManifest => PeerBatch.Parser.ParseFrom(bytes),
        ProbeManifest => ClusterProbe.Parser.ParseFrom(bytes),
        ProbeAnswerManifest => ClusterProbeAnswer.Parser.ParseFrom(bytes),
        _ => throw new SerializationException($"Unknown {nameof(PeerWireSerializer)} manifest '{manifest}' (a newer peer?)."),
    };

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        PeerBatch => BatchManifest,
        ClusterProbe => ProbeManifest,
        ClusterProbeAnswer => ProbeAnswerManifest,
        _ => throw new SerializationException($"{nameof(PeerWireSerializer)} has no manifest for {o?.GetType().FullName ?? "null"}."),
    };
}
