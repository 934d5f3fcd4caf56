using System.Collections.Immutable;

namespace Memo.Node.Security;

/// <summary>
/// This node's copy of the network's revocation list (the ids, hex, of revoked passports), swapped atomically as an
/// immutable set: the API gate reads it on every call, the refresh loop (<see cref="RevocationRefresher"/>) and a
/// revocation made through this node replace it.
/// </summary>
public sealed class PassportRevocations
{
    private ImmutableHashSet<string> _revoked = ImmutableHashSet.Create<string>(StringComparer.Ordinal);

    /// <summary>The revoked ids known now.</summary>
    public ImmutableHashSet<string> Revoked => Volatile.Read(ref _revoked);

    /// <summary>True when any passport of <paramref name="chain"/> (a passport and the delegations above it) is revoked.</summary>
    public bool IsRevoked(ImmutableArray<string> chain)
    {
        var revoked = Revoked;
        return revoked.Count > 0 && chain.Any(revoked.Contains);
    }

    /// <summary>Adds ids (a revocation this node committed, or the list read from its shard).</summary>
    public void Add(IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ImmutableHashSet<string> before, after;
        do
        {
            before = Revoked;
            after = before.Union(ids);
        }
        while (!ReferenceEquals(Interlocked.CompareExchange(ref _revoked, after, before), before));
    }
}
