using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;

namespace Memo.Node.Security;

/// <summary>
/// The access rules of a network with an owner: the owner's key every passport chains to, the network's name, and a
/// bounded cache of passports already verified (a passport is verified once per node, not once per call: its result
/// depends on its bytes and the owner alone, so caching it changes no decision). Immutable apart from the cache;
/// thread-safe. Null wherever a network has no owner.
/// </summary>
public sealed class NetworkAccess
{
    /// <summary>Keys under this prefix belong to the network (its revocation list); no client writes them.</summary>
    public const string ReservedPrefix = "\0memo/";

    /// <summary>The entry that holds the network's revocation list (<c>memo.users.RevocationList</c> as its value).</summary>
    public const string RevocationKey = ReservedPrefix + "revocations";

    private const int CacheCapacity = 4096;
    private const int CallCacheCapacity = 16384;
    private readonly ConcurrentDictionary<string, VerifiedPassport> _verified = new(StringComparer.Ordinal);
    // Signatures of calls seen valid: a write's signature is checked by the API, by the proposer and at apply, on the
    // node that takes it; the second and third checks then cost a hash instead of an ECDSA verification.
    private readonly ConcurrentDictionary<string, bool> _verifiedCalls = new(StringComparer.Ordinal);

    /// <summary>The rules of network <paramref name="network"/> owned by <paramref name="owner"/>.</summary>
    public NetworkAccess(MemoPublicKey owner, string network)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(network);
        Owner = owner;
        Network = network;
    }

    /// <summary>The owner's key.</summary>
    public MemoPublicKey Owner { get; }

    /// <summary>The network's name (a passport names it).</summary>
    public string Network { get; }

    /// <summary>
    /// Verifies <paramref name="user"/>'s signature over a call statement (<see cref="CallStatement.Bytes"/>),
    /// remembering the valid ones.
    /// </summary>
    public bool VerifyCall(MemoPublicKey user, ReadOnlySpan<byte> statement, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(user);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(user.Spki.Span);
        hash.AppendData(statement);
        hash.AppendData(signature);
        var digest = Convert.ToHexString(hash.GetHashAndReset());
        if (_verifiedCalls.ContainsKey(digest))
        {
            return true;
        }
        if (!user.Verify(statement, signature))
        {
            return false;
        }
        if (_verifiedCalls.Count >= CallCacheCapacity)
        {
            _verifiedCalls.Clear();
        }
        _verifiedCalls.TryAdd(digest, true);
        return true;
    }

    /// <summary>Verifies a serialized passport (<see cref="PassportVerifier"/>), from the cache when seen before.</summary>
    public bool TryVerify(ReadOnlySpan<byte> passport, [NotNullWhen(true)] out VerifiedPassport? verified, [NotNullWhen(false)] out string? problem)
    {
        var digest = Convert.ToHexString(SHA256.HashData(passport));
        if (_verified.TryGetValue(digest, out verified))
        {
            problem = null;
            return true;
        }
        if (!PassportVerifier.TryVerify(passport, Owner, Network, out verified, out problem))
        {
            return false;
        }
        if (_verified.Count >= CacheCapacity)
        {
            _verified.Clear();
        }
        _verified.TryAdd(digest, verified);
        return true;
    }
}
