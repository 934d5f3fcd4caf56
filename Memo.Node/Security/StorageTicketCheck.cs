using System.Collections.Concurrent;
using Memo.Node.Cluster.Runtime;
using Memo.Protocol.Users;

namespace Memo.Node.Security;

/// <summary>
/// The part of a member's storage-passport check that never changes for a given member (<see cref="StoragePassports.Verify"/>:
/// the passport chains to the owner, grants <c>storage</c>, and its key signed the member's NodeId), cached per claimed
/// NodeId and role text, so the membership mapping (which leaves a member without a valid ticket off the ring) and the
/// guard (which downs it) pay the signature checks once per member. Its answer depends on the roles and the owner
/// alone, so every node decides alike. Thread-safe.
/// </summary>
public sealed class StorageTicketCheck
{
    private const int MaxCached = 4096;
    private readonly NetworkAccess _access;
    private readonly ConcurrentDictionary<string, VerifiedPassport> _verified = new(StringComparer.Ordinal);

    /// <summary>Checks tickets against the owner and name of <paramref name="access"/>.</summary>
    public StorageTicketCheck(NetworkAccess access)
    {
        ArgumentNullException.ThrowIfNull(access);
        _access = access;
    }

    /// <summary>Null when <paramref name="member"/>'s ticket is valid (with its passport); else the reason.</summary>
    public string? Verify(MemberIdentity member, out VerifiedPassport? passport)
    {
        ArgumentNullException.ThrowIfNull(member);
        passport = null;
        if (member.Storage is null)
        {
            return StoragePassports.NoTicket;
        }
        // The same role text under another NodeId is a copy: its own entry, checked afresh (and refused).
        var claim = member.Node + "/" + member.Storage;
        if (_verified.TryGetValue(claim, out passport))
        {
            return null;
        }
        if (!StorageTicket.TryParseRole(member.Storage, out var ticket, out var malformed))
        {
            return malformed;
        }
        if (StoragePassports.Verify(ticket, member.Node, _access, out passport) is { } problem)
        {
            return problem;
        }
        if (_verified.Count >= MaxCached)
        {
            _verified.Clear();
        }
        _verified[claim] = passport!;
        return null;
    }

    /// <summary>Null when <paramref name="member"/>'s ticket is valid; else the reason (the membership mapping's admission rule).</summary>
    public string? Verify(MemberIdentity member) => Verify(member, out _);
}
