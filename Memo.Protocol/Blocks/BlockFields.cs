using Google.Protobuf;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Blocks;

/// <summary>
/// Typed access to the fields of the generated <see cref="Block"/> message. The payload is the <c>data</c> member of
/// the oneof; <c>data_plain</c> is accepted as the same bytes (unencrypted networks), and an unset oneof is empty data.
/// Which member carried the bytes is not signed: both mean the same plaintext.
/// </summary>
public static class BlockFields
{
    /// <summary>The block's payload: <c>data</c>, else <c>data_plain</c>, else empty.</summary>
    public static ByteString GetPayload(this Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        return block.PayloadCase switch
        {
            Block.PayloadOneofCase.Data => block.Data,
            Block.PayloadOneofCase.DataPlain => block.DataPlain,
            _ => ByteString.Empty,
        };
    }

    /// <summary>The block's kind, when its <c>type</c> is known.</summary>
    public static bool TryGetKind(this Block block, out BlockKind kind)
    {
        ArgumentNullException.ThrowIfNull(block);
        return BlockKinds.TryParse(block.Type, out kind);
    }

    /// <summary>The block's address, when it is 32 bytes.</summary>
    public static bool TryGetAddress(this Block block, out BlockAddress address)
    {
        ArgumentNullException.ThrowIfNull(block);
        return BlockAddress.TryFromBytes(block.Address.Span, out address);
    }

    /// <summary>The block's address; throws <see cref="FormatException"/> when it is not 32 bytes (validate first).</summary>
    public static BlockAddress GetAddress(this Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        return BlockAddress.FromBytes(block.Address.Span);
    }

    /// <summary>The owner's SPKI bytes: <c>owner</c> for a CHB, <c>owner_key</c> for OKB and NB; empty when absent or the type is unknown.</summary>
    public static ByteString GetOwnerSpki(this Block block)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (!block.TryGetKind(out var kind))
        {
            return ByteString.Empty;
        }
        return kind == BlockKind.Immutable ? block.Owner : block.OwnerKey;
    }
}
