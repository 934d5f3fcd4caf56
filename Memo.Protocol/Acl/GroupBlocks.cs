using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;

namespace Memo.Protocol.Acl;

// Design note: group blocks (memo's GB).
//
// A group is a mutable block owned and signed by its owner (the group's administrator) that holds generations of a
// group key: each generation a fresh P-256 key pair whose private key (PKCS#8) is wrapped for every member of that
// generation (KeyWrapping). An ACB readable by the group wraps its data key for the group's newest generation, so
// any member of that generation can open it: unwrap the generation's private key with their own key, then the data
// key with the generation's key.
//
//   add a member     the member gets a token in the newest generation (the owner, always a member, unwraps the
//                    generation's key to wrap it again); the member can read every ACB version wrapped for it.
//   remove a member  a new generation with a fresh key pair, wrapped for the remaining members only. The next
//                    version of each ACB readable by the group is wrapped for the new generation, which the removed
//                    member cannot open.
//
// What removal does not do, as in memo: versions written before the removal stay readable by the removed member
// (who still holds the old generation's token and may have kept the data anyway), and an ACB nobody writes again
// keeps its old wrapping. Rewriting every ACB a group can read is the owner's (or a writer's) choice, not the group's.
// Generations are append-only (BlockWriteRules), so ACB versions wrapped for an old generation keep opening for its
// members.

/// <summary>Builds, changes and opens group blocks (GB) client-side. Misuse throws <see cref="ArgumentException"/>.</summary>
public static class GroupBlocks
{
    /// <summary>A new group owned by <paramref name="owner"/> (always a member) with <paramref name="members"/>, at version 0 and generation 0.</summary>
    public static Block Create(MemoKeyPair owner, IEnumerable<MemoPublicKey> members, ReadOnlySpan<byte> data = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(members);
        if (data.Length > BlockLimits.MaxDataBytes)
        {
            throw new ArgumentException($"Group data is {data.Length} bytes, more than {BlockLimits.MaxDataBytes}.", nameof(data));
        }
        var salt = RandomNumberGenerator.GetBytes(BlockLimits.SaltBytes);
        var block = new Block
        {
            Type = BlockKinds.GroupType,
            Address = ByteString.CopyFrom(BlockAddresses.Mutable(owner.PublicKey.Spki.Span, salt).ToArray()),
            Salt = ByteString.CopyFrom(salt),
            OwnerKey = ByteString.CopyFrom(owner.PublicKey.Spki.Span),
            Data = ByteString.CopyFrom(data),
        };
        block.GroupGenerations.Add(NewGeneration(0, [owner.PublicKey, .. members]));
        Sign(block, owner);
        return block;
    }

    /// <summary>The next version of <paramref name="current"/> with <paramref name="member"/> in its newest generation.</summary>
    public static Block AddMember(Block current, MemoKeyPair owner, MemoPublicKey member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var next = NextVersion(current, owner);
        var newest = next.GroupGenerations[^1];
        if (newest.Members.Any(m => member.Matches(m.Key.Span)))
        {
            return next;
        }
        if (!TryOpenSecret(newest, owner, out var pkcs8))
        {
            throw new ArgumentException("The owner's token in the newest generation does not open; the group block is damaged.", nameof(current));
        }
        newest.Members.Add(new GroupMember { Key = ByteString.CopyFrom(member.Spki.Span), Token = ByteString.CopyFrom(KeyWrapping.Wrap(member, pkcs8)) });
        CryptographicOperations.ZeroMemory(pkcs8);
        Sign(next, owner);
        return next;
    }

    /// <summary>
    /// The next version of <paramref name="current"/> with a new generation for its members other than
    /// <paramref name="member"/>. Throws when <paramref name="member"/> is the owner or not a member.
    /// </summary>
    public static Block RemoveMember(Block current, MemoKeyPair owner, MemoPublicKey member)
    {
        ArgumentNullException.ThrowIfNull(member);
        if (owner.PublicKey.Equals(member))
        {
            throw new ArgumentException("The owner of a group is a member of every generation.", nameof(member));
        }
        var next = NextVersion(current, owner);
        var newest = next.GroupGenerations[^1];
        if (!newest.Members.Any(m => member.Matches(m.Key.Span)))
        {
            throw new ArgumentException($"{member} is not a member of the group.", nameof(member));
        }
        var remaining = newest.Members.Where(m => !member.Matches(m.Key.Span)).Select(m => MemoPublicKey.FromSpki(m.Key.Span));
        next.GroupGenerations.Add(NewGeneration(newest.Generation + 1, remaining));
        Sign(next, owner);
        return next;
    }

    /// <summary>The members of the group's newest generation (its owner first).</summary>
    public static IReadOnlyList<MemoPublicKey> MembersOf(Block group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.GroupGenerations.Count == 0 ? [] : [.. group.GroupGenerations[^1].Members.Select(m => MemoPublicKey.FromSpki(m.Key.Span))];
    }

    /// <summary>
    /// The private key of generation <paramref name="generation"/> of <paramref name="group"/>, opened with
    /// <paramref name="user"/>'s key; false when the user was not a member of that generation. Dispose the key.
    /// </summary>
    public static bool TryOpenGeneration(Block group, long generation, MemoKeyPair user, [NotNullWhen(true)] out ECDiffieHellman? key)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(user);
        key = null;
        var found = group.GroupGenerations.FirstOrDefault(g => g.Generation == generation);
        if (found is null || !TryOpenSecret(found, user, out var pkcs8))
        {
            return false;
        }
        try
        {
            key = KeyWrapping.AgreementKey(pkcs8);
            // A generation's key must be the one its public key names, or an ACB wrapped for the public key would not open.
            if (!key.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(found.PublicKey.Span))
            {
                key.Dispose();
                key = null;
                return false;
            }
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    private static bool TryOpenSecret(GroupGeneration generation, MemoKeyPair user, [NotNullWhen(true)] out byte[]? pkcs8)
    {
        pkcs8 = null;
        var member = generation.Members.FirstOrDefault(m => user.PublicKey.Matches(m.Key.Span));
        if (member is null)
        {
            return false;
        }
        using var agreement = KeyWrapping.AgreementKey(user);
        return KeyWrapping.TryUnwrap(agreement, member.Token.Span, out pkcs8);
    }

    private static GroupGeneration NewGeneration(long number, IEnumerable<MemoPublicKey> members)
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var pkcs8 = key.ExportPkcs8PrivateKey();
        var generation = new GroupGeneration { Generation = number, PublicKey = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()) };
        foreach (var member in members.Distinct())
        {
            generation.Members.Add(new GroupMember { Key = ByteString.CopyFrom(member.Spki.Span), Token = ByteString.CopyFrom(KeyWrapping.Wrap(member, pkcs8)) });
        }
        CryptographicOperations.ZeroMemory(pkcs8);
        return generation;
    }

    private static Block NextVersion(Block current, MemoKeyPair owner)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(owner);
        if (!current.TryGetKind(out var kind) || kind != BlockKind.Group || current.GroupGenerations.Count == 0)
        {
            throw new ArgumentException($"Not a group block: '{current.Type}'.", nameof(current));
        }
        if (!owner.PublicKey.Matches(current.OwnerKey.Span))
        {
            throw new ArgumentException("Only the group's owner changes its members.", nameof(owner));
        }
        var next = current.Clone();
        next.Version = checked(current.Version + 1);
        next.Deleted = false;
        return next;
    }

    private static void Sign(Block block, MemoKeyPair owner) =>
        block.Signature = ByteString.CopyFrom(owner.SignDigest(AclSigning.GroupDigest(block)));
}
