using System.Collections.Immutable;
using Memo.Node.Configuration;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;

namespace Memo.Node.Security;

// Design note: who may store data on a network with an owner.
//
// The owner admits people with passports; it admits machines the same way: a node runs on a network with an owner only
// with a passport granting `storage` for its own key (node.key), signed by the owner or a `sign` delegate, in its data
// folder (StorageTicket.FileName, written by `memo passport create --node DIR --allow storage`). The node checks it at
// start and refuses to start without a valid one; it shows it to the cluster as a member role, signed with its key over
// the NodeId it claims (StorageTicket); every member checks every other member's ticket when it joins and again at
// each revocation refresh, and downs a member whose ticket is missing, forged, for another node, without `storage`,
// expired or revoked (StoragePassportGuard). docs/security.md, "Storage passports", has why it is a passport and not a
// certificate extension.

/// <summary>
/// The checks of storage passports (pure: every input is an argument): a node's own at start, and another member's
/// ticket.
/// </summary>
public static class StoragePassports
{
    /// <summary>The reason given for a member without a <c>memo-storage</c> role.</summary>
    public const string NoTicket = "it presents no storage passport (no memo-storage role)";

    /// <summary>
    /// Reads and checks this node's storage passport in <paramref name="dataDirectory"/> and returns the ticket it shows
    /// the cluster.
    /// </summary>
    /// <exception cref="MemoConfigurationException">No passport, or one that does not let this node store data; the
    /// message says how to get one.</exception>
    public static StorageTicket LoadOwn(string dataDirectory, MemoKeyPair nodeKey, NodeId node, NetworkAccess access, long nowUnixMs)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        ArgumentNullException.ThrowIfNull(nodeKey);
        ArgumentNullException.ThrowIfNull(access);
        var path = Path.Combine(dataDirectory, StorageTicket.FileName);
        var fix = $"the network owner issues one with: memo passport create --node {dataDirectory} --allow storage --as OWNER --network {access.Network}";
        byte[] passport;
        try
        {
            passport = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MemoConfigurationException([$"network '{access.Network}' has an owner, so a node needs a storage passport for its key ({path} is missing); {fix}"]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MemoConfigurationException([$"cannot read the storage passport {path}: {e.Message}"]);
        }
        var ticket = StorageTicket.Sign(nodeKey, access.Network, node.Value, passport);
        if (Check(ticket, node, access, ImmutableHashSet<string>.Empty, nowUnixMs) is { } problem)
        {
            throw new MemoConfigurationException([$"the storage passport {path} does not let this node store data: {problem}; {fix}"]);
        }
        return ticket;
    }

    /// <summary>
    /// Checks the storage role of the member that claims <paramref name="node"/>; null when it may store data, else
    /// the reason (for the log).
    /// </summary>
    /// <param name="role">The member's <c>memo-storage</c> role; null when it has none.</param>
    /// <param name="node">The NodeId the member claims.</param>
    /// <param name="access">The network's owner and name.</param>
    /// <param name="revoked">Revoked passport ids (this node's copy of the list).</param>
    /// <param name="nowUnixMs">Now, for the expiry.</param>
    public static string? Check(string? role, NodeId node, NetworkAccess access, IImmutableSet<string> revoked, long nowUnixMs)
    {
        if (role is null)
        {
            return NoTicket;
        }
        return StorageTicket.TryParseRole(role, out var ticket, out var problem) ? Check(ticket, node, access, revoked, nowUnixMs) : problem;
    }

    /// <summary>Checks a parsed ticket (see <see cref="Check(string?, NodeId, NetworkAccess, IImmutableSet{string}, long)"/>).</summary>
    public static string? Check(StorageTicket ticket, NodeId node, NetworkAccess access, IImmutableSet<string> revoked, long nowUnixMs) =>
        Verify(ticket, node, access, out var passport) ?? Standing(passport!, revoked, nowUnixMs);

    /// <summary>
    /// What a ticket proves once for all (a result a caller may cache by the role's text): the passport chains to the
    /// owner, grants <c>storage</c>, and its key signed the claim to <paramref name="node"/>. Null when it does, with
    /// the verified passport; else the reason.
    /// </summary>
    public static string? Verify(StorageTicket ticket, NodeId node, NetworkAccess access, out VerifiedPassport? passport)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        ArgumentNullException.ThrowIfNull(access);
        if (!access.TryVerify(ticket.Passport, out passport, out var invalid))
        {
            return "its storage passport is not valid: " + invalid;
        }
        if (!passport.Allows(PassportRights.Storage, ""))
        {
            return $"its passport {passport.Id} ({passport.UserName}) grants {string.Join("; ", passport.Grants)}, not storage";
        }
        if (!ticket.IsSignedBy(passport.User, access.Network, node.Value))
        {
            return $"its passport {passport.Id} is for key {passport.User}, which did not sign this member's claim to be node {node}";
        }
        return null;
    }

    /// <summary>What can change over time: the passport has not expired and nothing in its chain is revoked.</summary>
    public static string? Standing(VerifiedPassport passport, IImmutableSet<string> revoked, long nowUnixMs)
    {
        ArgumentNullException.ThrowIfNull(passport);
        ArgumentNullException.ThrowIfNull(revoked);
        if (passport.IsExpiredAt(nowUnixMs))
        {
            return $"its storage passport {passport.Id} expired at {DateTimeOffset.FromUnixTimeMilliseconds(passport.ExpiresUnixMs):u}";
        }
        if (passport.ChainIds.FirstOrDefault(revoked.Contains) is { } id)
        {
            return $"its storage passport {passport.Id} is revoked" + (id == passport.Id ? "" : $" (through {id}, which delegated it)");
        }
        return null;
    }
}
