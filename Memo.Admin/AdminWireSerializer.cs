using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Google.Protobuf;
using Memo.Admin.Wire;

namespace Memo.Admin;

/// <summary>
/// The Akka serializer of the admin messages (<see cref="AdminRequest"/>, <see cref="AdminReply"/>): their
/// <c>memo.admin</c> protobuf bytes (Protos/memo_admin.proto) behind a one-letter manifest per type. Bound in HOCON by
/// <see cref="AdminWire.SerializerConfig"/>, on the node and in the CLI's ActorSystem; without that binding Akka would
/// fall back to its JSON serializer, which is not the documented wire format.
/// </summary>
/// <remarks>
/// The identifier is <see cref="SerializerId"/> (4101) for ever: it travels in every remote envelope. Memo's serializers
/// use 4100 and up (the peer transport's is 4100). Manifests are never reused: a new message type gets a new letter, and
/// a node that does not know a manifest refuses the message (Akka logs it and drops it; the client's ask times out).
/// </remarks>
public sealed class AdminWireSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer identifier written in every remote envelope.</summary>
    public const int SerializerId = 4101;

    /// <summary>Manifest of <see cref="AdminRequest"/>.</summary>
    internal const string RequestManifest = "Q";

    /// <summary>Manifest of <see cref="AdminReply"/>.</summary>
    internal const string ReplyManifest = "R";

    /// <summary>Every type that crosses the wire, with its manifest; the HOCON bindings are generated from this list.</summary>
    internal static readonly IReadOnlyDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        [typeof(AdminRequest)] = RequestManifest,
        [typeof(AdminReply)] = ReplyManifest,
    };

    /// <summary>Called by Akka's serialization extension, once per actor system.</summary>
    public AdminWireSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => obj switch
    {
        AdminRequest request => request.ToByteArray(),
        AdminReply reply => reply.ToByteArray(),
        _ => throw new SerializationException($"{nameof(AdminWireSerializer)} cannot serialize {obj?.GetType().FullName ?? "null"}."),
    };

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        RequestManifest => AdminRequest.Parser.ParseFrom(bytes),
        ReplyManifest => AdminReply.Parser.ParseFrom(bytes),
        _ => throw new SerializationException($"Unknown {nameof(AdminWireSerializer)} manifest '{manifest}' (a newer client or node?)."),
    };

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        AdminRequest => RequestManifest,
        AdminReply => ReplyManifest,
        _ => throw new SerializationException($"{nameof(AdminWireSerializer)} has no manifest for {o?.GetType().FullName ?? "null"}."),
    };
}
