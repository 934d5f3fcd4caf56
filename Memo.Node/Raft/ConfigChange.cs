using System.Buffers.Binary;

namespace Memo.Node.Raft;

/// <summary>A membership change as carried in a <see cref="RaftEntryKind.ConfigChange"/> entry.</summary>
public readonly record struct ConfigChange(ConfigChangeKind Kind, NodeId Node)
{
    private const byte FormatVersion = 1;
    private const int EncodedLength = 10;

    /// <summary>The entry payload: version byte, kind byte, node id (big-endian).</summary>
    public byte[] Encode()
    {
        var bytes = new byte[EncodedLength];
        bytes[0] = FormatVersion;
        bytes[1] = (byte)Kind;
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(2), Node.Value);
        return bytes;
    }

    /// <summary>Decodes an entry payload; a malformed one is corruption and stops the replica.</summary>
    public static ConfigChange Decode(byte[] data)
    {
        RaftInvariantException.ThrowIf(data.Length != EncodedLength || data[0] != FormatVersion, "malformed config change entry");
        var kind = (ConfigChangeKind)data[1];
        RaftInvariantException.ThrowIf(!Enum.IsDefined(kind), $"unknown config change kind {data[1]}");
        return new ConfigChange(kind, new NodeId(BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(2))));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Kind}({Node.Value})";
}
