using System.Text.Json;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Cli.Output;

/// <summary>The JSON form of a block for <c>memo block get --json</c>: every field, byte fields in base64, the address in hex.</summary>
internal static class BlockJson
{
    /// <summary>Writes the block's properties into the current object.</summary>
    public static void WriteProperties(Utf8JsonWriter writer, Block block)
    {
        writer.WriteString("type", block.Type);
        writer.WriteString("address", BlockAddress.TryFromBytes(block.Address.Span, out var address) ? address.ToString() : "0x" + Convert.ToHexStringLower(block.Address.Span));
        writer.WriteNumber("version", block.Version);
        writer.WriteBoolean("deleted", block.Deleted);
        writer.WriteNumber("format", block.Format);
        // The payload is a oneof: data as stored, or data_plain when the node decrypted it; show which one came back.
        writer.WriteString("payload", block.PayloadCase == Block.PayloadOneofCase.DataPlain ? "data_plain" : "data");
        writer.WriteBase64String("data", Data(block).Span);
        writer.WriteBase64String("salt", block.Salt.Span);
        writer.WriteBase64String("owner", block.Owner.Span);
        writer.WriteBase64String("ownerKey", block.OwnerKey.Span);
        writer.WriteBase64String("signature", block.Signature.Span);
        writer.WriteBase64String("name", block.Name.Span);
    }

    /// <summary>
    /// Writes an ACB's ACL into the current object (<c>memo block acl show --json</c>, and <c>acl</c> in <c>block get
    /// --json</c>): owner, editor and users by key (base64 SPKI) and fingerprint, groups by address.
    /// </summary>
    public static void WriteAcl(Utf8JsonWriter writer, Block block)
    {
        writer.WriteString("address", BlockAddress.TryFromBytes(block.Address.Span, out var address) ? address.ToString() : "0x" + Convert.ToHexStringLower(block.Address.Span));
        writer.WriteNumber("version", block.Version);
        writer.WriteNumber("aclVersion", block.AclVersion);
        writer.WriteBoolean("deleted", block.Deleted);
        WriteKey(writer, "owner", block.OwnerKey.Span);
        WriteKey(writer, "editor", block.EditorKey.IsEmpty ? block.OwnerKey.Span : block.EditorKey.Span);
        writer.WriteBoolean("worldReadable", block.WorldReadable);
        writer.WriteBoolean("worldWritable", block.WorldWritable);
        writer.WriteStartArray("users");
        foreach (var entry in block.Acl)
        {
            writer.WriteStartObject();
            WriteKey(writer, "key", entry.Key.Span);
            writer.WriteBoolean("read", entry.Read);
            writer.WriteBoolean("write", entry.Write);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartArray("groups");
        foreach (var entry in block.GroupAcl)
        {
            writer.WriteStartObject();
            writer.WriteString("group", "0x" + Convert.ToHexStringLower(entry.Group.Span));
            writer.WriteNumber("generation", entry.Generation);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    // A key as base64 SPKI plus its short fingerprint (what the text output shows).
    private static void WriteKey(Utf8JsonWriter writer, string name, ReadOnlySpan<byte> spki)
    {
        writer.WriteBase64String(name, spki);
        writer.WriteString(name + "Id", MemoPublicKey.TryFromSpki(spki, out var key) ? key.ToString() : null);
    }

    /// <summary>The block's payload, whichever of <c>data</c> and <c>data_plain</c> is set.</summary>
    public static ReadOnlyMemory<byte> Data(Block block) => block.PayloadCase switch
    {
        Block.PayloadOneofCase.DataPlain => block.DataPlain.Memory,
        Block.PayloadOneofCase.Data => block.Data.Memory,
        _ => ReadOnlyMemory<byte>.Empty,
    };
}
