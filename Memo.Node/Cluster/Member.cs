using System.Collections.Immutable;
using System.Globalization;

namespace Memo.Node.Cluster;

/// <summary>
/// One node's record in the membership: identity, address, lifecycle status, age and ring tokens. Immutable;
/// the identity part (address, tokens, roles) is fixed when the node joins, only the status and the up-number
/// change afterwards. A <see cref="MemberStatus.Removed"/> record is a tombstone without tokens or roles.
/// </summary>
public sealed class Member : IEquatable<Member>
{
    private Member(NodeId id, string address, MemberStatus status, int upNumber, ImmutableArray<ulong> tokens, ImmutableSortedSet<string> roles)
    {
        Id = id;
        Address = address;
        Status = status;
        UpNumber = upNumber;
        Tokens = tokens;
        Roles = roles;
    }

    /// <summary>The node's identity; never reused once the member is Down or Removed.</summary>
    public NodeId Id { get; }

    /// <summary>Where peers reach the node, as <c>host:port</c>.</summary>
    public string Address { get; }

    /// <summary>Lifecycle status.</summary>
    public MemberStatus Status { get; }

    /// <summary>Age order among members: set by the leader when the member goes Up, one more than any up-number it
    /// knew (0 while Joining). Lower is older. Concurrent leaders may give equal numbers; ties go to the lower NodeId.</summary>
    public int UpNumber { get; }

    /// <summary>The node's ring tokens (virtual nodes), ascending and distinct, drawn when it joined.</summary>
    public ImmutableArray<ulong> Tokens { get; }

    /// <summary>Free-form roles (e.g. a data centre), ordinal-sorted.</summary>
    public ImmutableSortedSet<string> Roles { get; }

    /// <summary>A new <see cref="MemberStatus.Joining"/> record for a node about to join. Tokens are sorted and must be
    /// distinct; throws <see cref="ArgumentException"/> on an invalid address, token list or role.</summary>
    public static Member Joining(NodeId id, string address, IEnumerable<ulong> tokens, IEnumerable<string>? roles = null) =>
        Create(id, address, MemberStatus.Joining, 0, tokens, roles ?? []);

    /// <summary>A record with any status (as mapped from Akka.Cluster's member). Validates like <see cref="Joining"/>.</summary>
    public static Member Create(NodeId id, string address, MemberStatus status, int upNumber, IEnumerable<ulong> tokens, IEnumerable<string> roles)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(roles);
        if (id.IsNone)
        {
            throw new ArgumentException("A member needs a NodeId other than None.", nameof(id));
        }
        if (!IsValidAddress(address))
        {
            throw new ArgumentException($"'{address}' is not a host:port address (port 1..65535, at most {MembershipLimits.MaxAddressLength} characters).", nameof(address));
        }
        if (!MemberStatusTransitions.IsDefined(status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown member status.");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(upNumber);

        var sorted = tokens.ToArray();
        Array.Sort(sorted);
        if (sorted.Length > MembershipLimits.MaxTokensPerMember)
        {
            throw new ArgumentException($"A member may own at most {MembershipLimits.MaxTokensPerMember} ring tokens, got {sorted.Length}.", nameof(tokens));
        }
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] == sorted[i - 1])
            {
                throw new ArgumentException($"Ring token {sorted[i]} appears twice.", nameof(tokens));
            }
        }

        var roleSet = ImmutableSortedSet.CreateRange(StringComparer.Ordinal, roles);
        if (roleSet.Count > MembershipLimits.MaxRolesPerMember)
        {
            throw new ArgumentException($"A member may have at most {MembershipLimits.MaxRolesPerMember} roles.", nameof(roles));
        }
        foreach (var role in roleSet)
        {
            if (role.Length is 0 or > MembershipLimits.MaxRoleLength)
            {
                throw new ArgumentException($"Role names are 1..{MembershipLimits.MaxRoleLength} characters, got '{role}'.", nameof(roles));
            }
        }

        return new Member(id, address, status, upNumber, ImmutableArray.Create(sorted), roleSet);
    }

    /// <summary>True for <c>host:port</c> with a non-empty host and a port in 1..65535 (IPv6 hosts in brackets).</summary>
    public static bool IsValidAddress(string? address)
    {
        if (string.IsNullOrEmpty(address) || address.Length > MembershipLimits.MaxAddressLength)
        {
            return false;
        }
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1 || address.Any(char.IsWhiteSpace))
        {
            return false;
        }
        var port = address.AsSpan(colon + 1);
        foreach (var c in port)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }
        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is >= 1 and <= 65535;
    }

    /// <summary>True when the member carries <paramref name="role"/>.</summary>
    public bool HasRole(string role) => Roles.Contains(role);

    /// <summary>True when address, tokens and roles are equal (the part fixed at join).</summary>
    internal bool SameIdentity(Member other) => CompareIdentity(this, other) == 0;

    private static int CompareIdentity(Member a, Member b)
    {
        var c = string.CompareOrdinal(a.Address, b.Address);
        if (c != 0)
        {
            return c;
        }
        c = a.Tokens.Length.CompareTo(b.Tokens.Length);
        for (var i = 0; c == 0 && i < a.Tokens.Length; i++)
        {
            c = a.Tokens[i].CompareTo(b.Tokens[i]);
        }
        if (c != 0)
        {
            return c;
        }
        c = a.Roles.Count.CompareTo(b.Roles.Count);
        using var ea = a.Roles.GetEnumerator();
        using var eb = b.Roles.GetEnumerator();
        while (c == 0 && ea.MoveNext() && eb.MoveNext())
        {
            c = string.CompareOrdinal(ea.Current, eb.Current);
        }
        return c;
    }

    /// <inheritdoc />
    public bool Equals(Member? other) =>
        other is not null && (ReferenceEquals(this, other) ||
            (Id == other.Id && Status == other.Status && UpNumber == other.UpNumber && SameIdentity(other)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Member);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Id, Status, UpNumber, Address, Tokens.Length);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Id}@{Address} {Status}" + (UpNumber > 0 ? $" up#{UpNumber}" : "") + (Roles.Count > 0 ? $" [{string.Join(",", Roles)}]" : "");
}
