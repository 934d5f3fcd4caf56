using System.Collections.Immutable;
using Memo.Protocol.Blocks;

namespace Memo.Protocol.Users;

/// <summary>
/// A passport whose signature chain reached the network owner (<see cref="PassportVerifier"/>): who it is for, what it
/// grants, until when, and the ids of every passport in its chain (its own first), so revoking a delegate revokes what
/// the delegate signed. Immutable.
/// </summary>
/// <param name="Id">The passport's id (16 bytes, hex).</param>
/// <param name="User">The user's key.</param>
/// <param name="UserName">The label the issuer gave the user.</param>
/// <param name="Grants">What it grants.</param>
/// <param name="ExpiresUnixMs">When the passport, or a delegation in its chain, expires (the earliest); 0 for never.</param>
/// <param name="ChainIds">The ids (hex) of this passport and of every delegation above it.</param>
/// <param name="Issuer">The key that signed it.</param>
public sealed record VerifiedPassport(string Id, MemoPublicKey User, string UserName, ImmutableArray<PassportGrantRule> Grants, long ExpiresUnixMs,
    ImmutableArray<string> ChainIds, MemoPublicKey Issuer)
{
    /// <summary>True when some grant gives <paramref name="right"/> on <paramref name="key"/> (for a block or a network-wide right, pass "").</summary>
    public bool Allows(PassportRights right, string key) => Grants.Any(g => g.Covers(right, key));

    /// <summary>Every right some grant gives, wherever.</summary>
    public PassportRights AnyRights => Grants.Aggregate(PassportRights.None, (all, g) => all | g.Rights);

    /// <summary>True when the passport has expired at <paramref name="unixMs"/>.</summary>
    public bool IsExpiredAt(long unixMs) => ExpiresUnixMs != 0 && unixMs >= ExpiresUnixMs;
}
