using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Globalization;
using Memo.Node.Storage.Policies;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// What a node tells the cluster about itself through its Akka.Cluster member roles, fixed when it joins: its persistent
/// NodeId, its ring tokens, the address of its gRPC API and the network parameters it was created with. Carried as
/// roles because they travel in Akka's gossip with the member and survive a restart on the same data folder, so
/// placement computed from them is the same before and after.
/// </summary>
/// <param name="Node">The node's id (drawn once per data folder).</param>
/// <param name="ApiAddress">host:port of the node's public gRPC API.</param>
/// <param name="Tokens">The node's ring tokens.</param>
/// <param name="ShardCount">Shards of the network the node's data folder belongs to.</param>
/// <param name="ReplicationFactor">Replicas per shard the node was configured or recorded with.</param>
/// <param name="EvictionDelay">The node's eviction delay (Akka's split brain resolver <c>stable-after</c>).</param>
/// <param name="Timing">The node's Raft timing; null for a member whose roles predate it (it then matches any).</param>
/// <param name="Policies">The node's data policies (compression, encryption at rest); null for a member whose roles
/// predate them (it then matches any).</param>
/// <param name="Versions">Versions of each key the node keeps (<c>memo.network.versions</c>); 1 for a member whose roles
/// predate versioning (it keeps only the current value, so it does not match a network that keeps more).</param>
/// <param name="Owner">Hex SHA-256 of the network owner's key (<c>memo-owner</c> role); null for a network without an
/// owner, and for a member whose roles predate owners.</param>
/// <param name="Storage">The <c>memo-storage</c> role (<see cref="Memo.Protocol.Users.StorageTicket"/>) a node of a network
/// with an owner shows, as carried (checked by <c>StoragePassportGuard</c>, not here); null when there is none.</param>
/// <param name="Erasure">The node's erasure coding (<c>memo.network.erasure</c>, <c>memo.network.erasure-threshold</c>);
/// off for a member whose roles predate it (it keeps whole copies, so it does not match a network that codes).</param>
public sealed record MemberIdentity(NodeId Node, string ApiAddress, ImmutableArray<ulong> Tokens, int ShardCount, int ReplicationFactor, TimeSpan EvictionDelay,
    RaftTiming? Timing, DataPolicies? Policies = null, int Versions = 1, string? Owner = null, string? Storage = null,
    Memo.Node.Erasure.ErasureCoding Erasure = default)
{
    private const string IdPrefix = "memo-id:";
    private const string ApiPrefix = "memo-api:";
    private const string TokensPrefix = "memo-tokens:";
    private const string NetworkPrefix = "memo-net:";
    private const string OwnerPrefix = "memo-owner:";
    private const string StoragePrefix = Memo.Protocol.Users.StorageTicket.RolePrefix;

    /// <summary>The identity of a node of <paramref name="network"/>.</summary>
    public static MemberIdentity Of(NodeId node, string apiAddress, ImmutableArray<ulong> tokens, NetworkParameters network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new MemberIdentity(node, apiAddress, tokens, network.ShardCount, network.ReplicationFactor, network.EvictionDelay, network.Timing, network.DataPolicies, network.Versions,
            network.Owner is null ? null : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(network.Owner.Spki.Span)),
            Erasure: network.ErasureCoding);
    }

    /// <summary>True when this node and <paramref name="other"/> were made for the same network parameters.</summary>
    public bool SameNetworkAs(MemberIdentity other) =>
        ShardCount == other.ShardCount && ReplicationFactor == other.ReplicationFactor && EvictionDelay == other.EvictionDelay
        && (Timing is null || other.Timing is null || Timing == other.Timing)
        && (Policies is null || other.Policies is null || Policies == other.Policies)
        && Versions == other.Versions
        // Every node cuts the blocks it writes and rebuilds lost fragments: one cutting differently (or not at all)
        // would leave blocks the others cannot read or repair.
        && ErasureOf(this) == ErasureOf(other)
        // Every replica checks key-value writes against the owner: a member with another owner (or none) would apply
        // different entries than its group.
        && Owner == other.Owner;

    /// <summary>The network parameters as text, for error messages.</summary>
    public string DescribeNetwork() =>
        $"{ShardCount} shards, replication factor {ReplicationFactor}, eviction delay {Configuration.OptionsValidator.ShowDuration(EvictionDelay)}"
        + (Timing is null ? "" : $", {Timing}") + (Policies is null ? "" : $", {Policies}") + $", versions {Versions}, {ErasureOf(this)}" + (Owner is null ? "" : $", owner {Owner[..16]}");

    /// <summary>The roles that carry this identity.</summary>
    public ImmutableArray<string> ToRoles()
    {
        var tokenBytes = new byte[Tokens.Length * 8];
        for (var i = 0; i < Tokens.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(tokenBytes.AsSpan(i * 8), Tokens[i]);
        }
        return
        [
            IdPrefix + Node.Value.ToString("x16", CultureInfo.InvariantCulture),
            ApiPrefix + ApiAddress,
            TokensPrefix + Convert.ToBase64String(tokenBytes),
            NetworkPrefix + string.Create(CultureInfo.InvariantCulture, $"{ShardCount}/{ReplicationFactor}/{(long)EvictionDelay.TotalMilliseconds}")
                + (Timing is null ? "" : string.Create(CultureInfo.InvariantCulture,
                    $"/{Timing.TickInterval.Ticks / TimeSpan.TicksPerMicrosecond}/{Timing.ElectionTicks}/{(Timing.LeaseReads ? 1 : 0)}"))
                + (Timing is null || (Policies is null && Versions == 1 && !Erasure.IsOn) ? "" : string.Create(CultureInfo.InvariantCulture,
                    $"/{(int)(Policies ?? DataPolicies.None).Compression}/{((Policies ?? DataPolicies.None).EncryptAtRest ? 1 : 0)}"))
                // One version (the default) adds nothing, so such a node's roles read as before versioning.
                + (Timing is null || (Versions == 1 && !Erasure.IsOn) ? "" : string.Create(CultureInfo.InvariantCulture, $"/{Versions}"))
                // Off (the default) adds nothing, so such a node's roles read as before erasure coding.
                + (Timing is null || !Erasure.IsOn ? "" : string.Create(CultureInfo.InvariantCulture, $"/{Erasure.Scheme}/{Erasure.Threshold}")),
            .. Owner is null ? (string[])[] : [OwnerPrefix + Owner],
            .. Storage is null ? (string[])[] : [Storage],
        ];
    }

    /// <summary>True for the roles <see cref="ToRoles"/> makes (the others are the operator's).</summary>
    public static bool IsIdentityRole(string role) =>
        role.StartsWith(IdPrefix, StringComparison.Ordinal) || role.StartsWith(ApiPrefix, StringComparison.Ordinal)
        || role.StartsWith(TokensPrefix, StringComparison.Ordinal) || role.StartsWith(NetworkPrefix, StringComparison.Ordinal)
        || role.StartsWith(OwnerPrefix, StringComparison.Ordinal) || role.StartsWith(StoragePrefix, StringComparison.Ordinal);

    /// <summary>Reads an identity back from a member's roles; false with the reason when they do not carry a valid one
    /// (a process that is not a memo node, or a newer or damaged one).</summary>
    public static bool TryParse(IEnumerable<string> roles, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MemberIdentity? identity,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(roles);
        identity = null;
        string? id = null, api = null, tokens = null, network = null, owner = null, storage = null;
        foreach (var role in roles)
        {
            if (role.StartsWith(IdPrefix, StringComparison.Ordinal)) id = role[IdPrefix.Length..];
            else if (role.StartsWith(ApiPrefix, StringComparison.Ordinal)) api = role[ApiPrefix.Length..];
            else if (role.StartsWith(TokensPrefix, StringComparison.Ordinal)) tokens = role[TokensPrefix.Length..];
            else if (role.StartsWith(NetworkPrefix, StringComparison.Ordinal)) network = role[NetworkPrefix.Length..];
            else if (role.StartsWith(OwnerPrefix, StringComparison.Ordinal)) owner = role[OwnerPrefix.Length..];
            else if (role.StartsWith(StoragePrefix, StringComparison.Ordinal)) storage = role;
        }
        if (id is null || api is null || tokens is null || network is null)
        {
            problem = "the member carries no memo identity roles (memo-id, memo-api, memo-tokens, memo-net)";
            return false;
        }
        if (!ulong.TryParse(id, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var nodeValue) || nodeValue == 0)
        {
            problem = $"bad node id '{id}'";
            return false;
        }
        if (!Member.IsValidAddress(api))
        {
            problem = $"bad API address '{api}'";
            return false;
        }
        byte[] tokenBytes;
        try
        {
            tokenBytes = Convert.FromBase64String(tokens);
        }
        catch (FormatException)
        {
            problem = "ring tokens are not base64";
            return false;
        }
        if (tokenBytes.Length % 8 != 0 || tokenBytes.Length / 8 > MembershipLimits.MaxTokensPerMember)
        {
            problem = $"ring tokens take {tokenBytes.Length} bytes";
            return false;
        }
        // shards/rf/eviction-ms, then (since the Raft timing became a network parameter) /tick-us/election-ticks/lease,
        // then (since data policies) /compression/encrypt-at-rest, then (since versioning, and only when more than one
        // version is kept) /versions, then (since erasure coding, and only when it is on) /K+M/threshold.
        var parts = network.Split('/');
        RaftTiming? timing = null;
        DataPolicies? policies = null;
        var versions = 1;
        var erasure = Memo.Node.Erasure.ErasureCoding.Off;
        if (parts.Length is not (3 or 6 or 8 or 9 or 11)
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var shards) || shards < 1
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var rf) || rf < 1
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var evictionMs)
            || (parts.Length >= 6 && !TryParseTiming(parts.AsSpan(3, 3), out timing))
            || (parts.Length >= 8 && !TryParsePolicies(parts.AsSpan(6, 2), out policies))
            || (parts.Length == 9 && (!int.TryParse(parts[8], NumberStyles.None, CultureInfo.InvariantCulture, out versions) || versions < 2))
            || (parts.Length == 11 && (!int.TryParse(parts[8], NumberStyles.None, CultureInfo.InvariantCulture, out versions) || versions < 1
                || !TryParseErasure(parts[9], parts[10], out erasure))))
        {
            problem = $"bad network parameters '{network}'";
            return false;
        }
        if (owner is not null && (owner.Length != 64 || !owner.All(char.IsAsciiHexDigitLower)))
        {
            problem = $"bad owner fingerprint '{owner}'";
            return false;
        }
        var values = new ulong[tokenBytes.Length / 8];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt64BigEndian(tokenBytes.AsSpan(i * 8));
        }
        identity = new MemberIdentity(new NodeId(nodeValue), api, [.. values], shards, rf, TimeSpan.FromMilliseconds(evictionMs), timing, policies, versions, owner, storage, erasure);
        problem = null;
        return true;
    }

    // Off compares equal whatever threshold it carries: the threshold means nothing then.
    private static Memo.Node.Erasure.ErasureCoding ErasureOf(MemberIdentity identity) =>
        identity.Erasure.IsOn ? identity.Erasure : Memo.Node.Erasure.ErasureCoding.Off;

    private static bool TryParseErasure(string scheme, string threshold, out Memo.Node.Erasure.ErasureCoding erasure)
    {
        erasure = Memo.Node.Erasure.ErasureCoding.Off;
        if (scheme == "off" || !Memo.Node.Erasure.ErasureCoding.TryParseScheme(scheme, out var k, out var m, out _)
            || !int.TryParse(threshold, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) || bytes < 1)
        {
            return false;
        }
        erasure = new Memo.Node.Erasure.ErasureCoding(k, m, bytes);
        return true;
    }

    private static bool TryParsePolicies(ReadOnlySpan<string> parts, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DataPolicies? policies)
    {
        policies = null;
        if (parts[0] is not ("0" or "1" or "2") || parts[1] is not ("0" or "1"))
        {
            return false;
        }
        policies = new DataPolicies((ValueCompression)(parts[0][0] - '0'), parts[1] == "1");
        return true;
    }

    private static bool TryParseTiming(ReadOnlySpan<string> parts, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RaftTiming? timing)
    {
        timing = null;
        if (!long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var tickUs) || tickUs < 1 || tickUs > TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMicrosecond
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var electionTicks) || electionTicks < 1
            || parts[2] is not ("0" or "1"))
        {
            return false;
        }
        timing = new RaftTiming(TimeSpan.FromTicks(tickUs * TimeSpan.TicksPerMicrosecond), electionTicks, parts[2] == "1");
        return true;
    }
}
