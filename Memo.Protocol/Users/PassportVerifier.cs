using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users.Wire;

namespace Memo.Protocol.Users;

// Design note: what makes a passport valid.
//
// A passport is valid for a network when its body is in format 1, names that network, a canonical P-256 user key and a
// 16-byte id, its grants are well formed (network-wide rights only without a prefix), and its issuer signed
// "memo/passport/1" 0x00 || body, where the issuer is either the network owner, or a delegate whose own passport (the
// `delegation`, verified the same way, at most MaxDelegationDepth deep) is for the issuer's key, grants `sign`, and
// grants every right the passport grants on a prefix that covers the passport's prefix. Expiry is the earliest in the
// chain. No clock and no revocation list here: the verifier is pure, so the API (which has a clock and the list) and
// the shard state machine (which has neither, and must decide identically on every replica) share it.

/// <summary>Verifies passports and revocations against a network's owner key. Pure and thread-safe.</summary>
public static class PassportVerifier
{
    /// <summary>Most delegations above a passport.</summary>
    public const int MaxDelegationDepth = 4;

    /// <summary>Most grants in one passport.</summary>
    public const int MaxGrants = 64;

    /// <summary>Most UTF-8 bytes of a grant's prefix.</summary>
    public const int MaxPrefixBytes = 4096;

    /// <summary>Bytes of a passport id.</summary>
    public const int IdBytes = 16;

    internal static readonly byte[] PassportDomain = "memo/passport/1\0"u8.ToArray();
    internal static readonly byte[] RevocationDomain = "memo/revocation/1\0"u8.ToArray();

    /// <summary>The bytes an issuer signs for a passport body.</summary>
    public static byte[] PassportSigningBytes(ReadOnlySpan<byte> body) => [.. PassportDomain, .. body];

    /// <summary>The bytes an owner or admin signs for a revocation body.</summary>
    public static byte[] RevocationSigningBytes(ReadOnlySpan<byte> body) => [.. RevocationDomain, .. body];

    /// <summary>
    /// Verifies <paramref name="passport"/> for <paramref name="network"/> owned by <paramref name="owner"/>; false
    /// with the reason when it is not valid (<see cref="PassportVerifier"/>'s design note).
    /// </summary>
    public static bool TryVerify(Passport? passport, MemoPublicKey owner, string network, [NotNullWhen(true)] out VerifiedPassport? verified,
        [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(network);
        return TryVerify(passport, owner, network, 0, out verified, out problem);
    }

    /// <summary>Parses and verifies a serialized passport, as <see cref="TryVerify(Passport?, MemoPublicKey, string, out VerifiedPassport?, out string?)"/>.</summary>
    public static bool TryVerify(ReadOnlySpan<byte> passportBytes, MemoPublicKey owner, string network, [NotNullWhen(true)] out VerifiedPassport? verified,
        [NotNullWhen(false)] out string? problem)
    {
        Passport passport;
        try
        {
            passport = Passport.Parser.ParseFrom(passportBytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            verified = null;
            problem = "the passport does not parse: " + e.Message;
            return false;
        }
        return TryVerify(passport, owner, network, out verified, out problem);
    }

    /// <summary>
    /// Verifies a revocation: the owner signed it, or an admin whose passport (<c>delegation</c>) is valid and grants
    /// <see cref="PassportRights.Admin"/>. Returns the revoked passport id (hex), or null with the reason.
    /// </summary>
    public static string? VerifyRevocation(Revocation revocation, MemoPublicKey owner, string network, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(revocation);
        ArgumentNullException.ThrowIfNull(owner);
        RevocationBody body;
        try
        {
            body = RevocationBody.Parser.ParseFrom(revocation.Body);
        }
        catch (InvalidProtocolBufferException e)
        {
            problem = "the revocation does not parse: " + e.Message;
            return null;
        }
        if (body.Format != 1 || body.Network != network || body.PassportId.Length != IdBytes)
        {
            problem = $"the revocation is not a format-1 revocation of a {IdBytes}-byte passport id on network '{network}'";
            return null;
        }
        if (!MemoPublicKey.TryFromSpki(body.Issuer.Span, out var issuer))
        {
            problem = "the revocation's issuer is not a P-256 key";
            return null;
        }
        if (!issuer.Equals(owner))
        {
            if (!TryVerify(revocation.Delegation, owner, network, 1, out var admin, out var delegationProblem))
            {
                problem = "the revocation is not signed by the network owner, and its issuer's passport is not valid: " + delegationProblem;
                return null;
            }
            if (!admin.User.Equals(issuer) || !admin.Allows(PassportRights.Admin, ""))
            {
                problem = "the revocation is not signed by the network owner or an admin";
                return null;
            }
        }
        if (!issuer.Verify(RevocationSigningBytes(revocation.Body.Span), revocation.Signature.Span))
        {
            problem = "the revocation's signature does not verify";
            return null;
        }
        problem = null;
        return Convert.ToHexStringLower(body.PassportId.Span);
    }

    private static bool TryVerify(Passport? passport, MemoPublicKey owner, string network, int depth, [NotNullWhen(true)] out VerifiedPassport? verified,
        [NotNullWhen(false)] out string? problem)
    {
        verified = null;
        if (passport is null || passport.Body.IsEmpty)
        {
            problem = "no passport";
            return false;
        }
        if (depth > MaxDelegationDepth)
        {
            problem = $"more than {MaxDelegationDepth} delegations";
            return false;
        }
        PassportBody body;
        try
        {
            body = PassportBody.Parser.ParseFrom(passport.Body);
        }
        catch (InvalidProtocolBufferException e)
        {
            problem = "the passport does not parse: " + e.Message;
            return false;
        }
        if (body.Format != 1)
        {
            problem = $"passport format {body.Format} is not 1";
            return false;
        }
        if (body.Network != network)
        {
            problem = $"the passport is for network '{body.Network}', not '{network}'";
            return false;
        }
        if (body.Id.Length != IdBytes)
        {
            problem = $"the passport id is {body.Id.Length} bytes, not {IdBytes}";
            return false;
        }
        if (!MemoPublicKey.TryFromSpki(body.User.Span, out var user) || !MemoPublicKey.TryFromSpki(body.Issuer.Span, out var issuer))
        {
            problem = "the passport's user or issuer is not a canonical P-256 key";
            return false;
        }
        if (body.Grants.Count is 0 or > MaxGrants)
        {
            problem = $"the passport has {body.Grants.Count} grants (1 to {MaxGrants})";
            return false;
        }
        var grants = ImmutableArray.CreateBuilder<PassportGrantRule>(body.Grants.Count);
        foreach (var grant in body.Grants)
        {
            var rights = (PassportRights)grant.Rights;
            if ((rights & ~PassportRightsText.All) != 0 || rights == PassportRights.None)
            {
                problem = $"a grant holds unknown or no rights ({grant.Rights})";
                return false;
            }
            if (grant.Prefix.Length > 0 && (rights & PassportRightsText.NetworkWide) != 0)
            {
                problem = "storage, sign and admin are network-wide: a grant with a prefix cannot carry them";
                return false;
            }
            if (Encoding.UTF8.GetByteCount(grant.Prefix) > MaxPrefixBytes)
            {
                problem = $"a grant's prefix is longer than {MaxPrefixBytes} bytes";
                return false;
            }
            grants.Add(new PassportGrantRule(rights, grant.Prefix));
        }
        var expires = body.ExpiresUnixMs;
        var chain = ImmutableArray.CreateBuilder<string>();
        chain.Add(Convert.ToHexStringLower(body.Id.Span));
        if (!issuer.Equals(owner))
        {
            if (!TryVerify(passport.Delegation, owner, network, depth + 1, out var delegation, out var delegationProblem))
            {
                problem = "the passport is not signed by the network owner, and its issuer's passport is not valid: " + delegationProblem;
                return false;
            }
            if (!delegation.User.Equals(issuer) || !delegation.Allows(PassportRights.Sign, ""))
            {
                problem = "the passport's issuer is neither the network owner nor a holder of `sign`";
                return false;
            }
            foreach (var grant in grants)
            {
                if (!delegation.Grants.Any(d => (d.Rights & grant.Rights) == grant.Rights && grant.Prefix.StartsWith(d.Prefix, StringComparison.Ordinal)))
                {
                    problem = $"the delegate grants {grant}, more than it holds";
                    return false;
                }
            }
            expires = Earliest(expires, delegation.ExpiresUnixMs);
            chain.AddRange(delegation.ChainIds);
        }
        if (!issuer.Verify(PassportSigningBytes(passport.Body.Span), passport.Signature.Span))
        {
            problem = "the passport's signature does not verify";
            return false;
        }
        verified = new VerifiedPassport(chain[0], user, body.UserName, grants.ToImmutable(), expires, chain.ToImmutable(), issuer);
        problem = null;
        return true;
    }

    private static long Earliest(long a, long b) => a == 0 ? b : b == 0 ? a : Math.Min(a, b);
}
