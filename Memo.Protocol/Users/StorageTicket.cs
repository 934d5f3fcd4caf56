using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Memo.Protocol.Blocks;

namespace Memo.Protocol.Users;

/// <summary>
/// What a node of a network with an owner shows the other members so they let it store data: its <b>storage
/// passport</b> (a passport granting <c>storage</c>, signed by the owner or a <c>sign</c> delegate, for the node's own
/// key, kept in its data folder as <see cref="FileName"/>) and the node key's signature binding that passport to the
/// NodeId the node claims. Carried as the member role <c>memo-storage:1:&lt;passport&gt;:&lt;signature&gt;</c> (base64),
/// beside the other identity roles. The binding means a copied passport (passports are not secret) speaks for no other
/// NodeId; with remoting TLS the member's certificate binds the NodeId to the address.
/// </summary>
/// <param name="Passport">The serialized storage passport.</param>
/// <param name="Signature">The passport's key's signature over <see cref="SigningBytes"/>.</param>
public sealed record StorageTicket(byte[] Passport, byte[] Signature)
{
    /// <summary>The storage passport's file in a node's data folder (<c>memo passport create --node DIR</c> writes it).</summary>
    public const string FileName = "node.passport";

    /// <summary>The member role's prefix (format 1).</summary>
    public const string RolePrefix = "memo-storage:";

    private const string FormatOne = "1:";
    private static readonly byte[] Domain = "memo/storage/1\0"u8.ToArray();

    /// <summary>
    /// What the node key signs: <c>"memo/storage/1" 0x00 ‖ u16be(len network) ‖ network ‖ u64be(node) ‖
    /// SHA-256(passport)</c>.
    /// </summary>
    public static byte[] SigningBytes(string network, ulong node, ReadOnlySpan<byte> passport)
    {
        ArgumentNullException.ThrowIfNull(network);
        var name = Encoding.UTF8.GetBytes(network);
        var bytes = new byte[Domain.Length + 2 + name.Length + 8 + SHA256.HashSizeInBytes];
        var at = 0;
        Domain.CopyTo(bytes, at);
        at += Domain.Length;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at), checked((ushort)name.Length));
        at += 2;
        name.CopyTo(bytes, at);
        at += name.Length;
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(at), node);
        at += 8;
        SHA256.HashData(passport, bytes.AsSpan(at));
        return bytes;
    }

    /// <summary>The ticket of node <paramref name="node"/> of <paramref name="network"/>, signed with its key.</summary>
    public static StorageTicket Sign(MemoKeyPair nodeKey, string network, ulong node, byte[] passport)
    {
        ArgumentNullException.ThrowIfNull(nodeKey);
        ArgumentNullException.ThrowIfNull(passport);
        return new StorageTicket(passport, nodeKey.Sign(SigningBytes(network, node, passport)));
    }

    /// <summary>True when <paramref name="key"/> signed this ticket for <paramref name="node"/> of <paramref name="network"/>.</summary>
    public bool IsSignedBy(MemoPublicKey key, string network, ulong node)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key.Verify(SigningBytes(network, node, Passport), Signature);
    }

    /// <summary>The member role that carries the ticket.</summary>
    public string ToRole() => RolePrefix + FormatOne + Convert.ToBase64String(Passport) + ":" + Convert.ToBase64String(Signature);

    /// <summary>Reads a ticket back from its role; false with the reason when the role is not one.</summary>
    public static bool TryParseRole(string role, [NotNullWhen(true)] out StorageTicket? ticket, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(role);
        ticket = null;
        if (!role.StartsWith(RolePrefix + FormatOne, StringComparison.Ordinal))
        {
            problem = $"its storage role is not in format 1 ({RolePrefix}{FormatOne}…)";
            return false;
        }
        var parts = role[(RolePrefix.Length + FormatOne.Length)..].Split(':');
        try
        {
            if (parts.Length == 2)
            {
                ticket = new StorageTicket(Convert.FromBase64String(parts[0]), Convert.FromBase64String(parts[1]));
                problem = null;
                return true;
            }
        }
        catch (FormatException)
        {
        }
        problem = "its storage role is not a passport and a signature in base64";
        return false;
    }
}
