using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users.Wire;

namespace Memo.Protocol.Users;

/// <summary>
/// Issues passports and revocations: the network owner (or a delegate holding <c>sign</c>, with its own passport)
/// signs them. Misuse (no grant, a network-wide right with a prefix, a delegate granting more than it holds) throws
/// <see cref="ArgumentException"/>: what this returns verifies with <see cref="PassportVerifier"/>.
/// </summary>
public static class PassportIssuer
{
    /// <summary>
    /// A passport for <paramref name="user"/> on <paramref name="network"/>, signed by <paramref name="issuer"/>
    /// (the owner, or a delegate whose own passport is <paramref name="issuerPassport"/>).
    /// </summary>
    /// <param name="issuer">The signing key.</param>
    /// <param name="user">Whom the passport is for.</param>
    /// <param name="userName">A label for the user.</param>
    /// <param name="network">The network's name.</param>
    /// <param name="grants">What it grants.</param>
    /// <param name="issuedUnixMs">When it is issued (Unix milliseconds).</param>
    /// <param name="expiresUnixMs">When it expires; 0 for never.</param>
    /// <param name="issuerPassport">The delegate's own passport; null when <paramref name="issuer"/> is the owner.</param>
    public static Passport Issue(MemoKeyPair issuer, MemoPublicKey user, string userName, string network, IEnumerable<PassportGrantRule> grants,
        long issuedUnixMs, long expiresUnixMs = 0, Passport? issuerPassport = null)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(grants);
        var body = new PassportBody
        {
            Format = 1,
            Network = network,
            User = ByteString.CopyFrom(user.Spki.Span),
            UserName = userName,
            IssuedUnixMs = issuedUnixMs,
            ExpiresUnixMs = expiresUnixMs,
            Id = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(PassportVerifier.IdBytes)),
            Issuer = ByteString.CopyFrom(issuer.PublicKey.Spki.Span),
        };
        foreach (var grant in grants)
        {
            if (grant.Prefix.Length > 0 && (grant.Rights & PassportRightsText.NetworkWide) != 0)
            {
                throw new ArgumentException("storage, sign and admin are network-wide: a grant with a prefix cannot carry them.", nameof(grants));
            }
            body.Grants.Add(new PassportGrant { Rights = (uint)grant.Rights, Prefix = grant.Prefix });
        }
        if (body.Grants.Count == 0)
        {
            throw new ArgumentException("A passport grants at least one right.", nameof(grants));
        }
        var bytes = body.ToByteString();
        return new Passport
        {
            Body = bytes,
            Signature = ByteString.CopyFrom(issuer.Sign(PassportVerifier.PassportSigningBytes(bytes.Span))),
            Delegation = issuerPassport,
        };
    }

    /// <summary>A revocation of the passport <paramref name="passportId"/>, signed by the owner or by an admin whose passport is <paramref name="adminPassport"/>.</summary>
    public static Revocation Revoke(MemoKeyPair issuer, ReadOnlySpan<byte> passportId, string network, long revokedUnixMs, Passport? adminPassport = null)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        if (passportId.Length != PassportVerifier.IdBytes)
        {
            throw new ArgumentException($"A passport id is {PassportVerifier.IdBytes} bytes.", nameof(passportId));
        }
        var body = new RevocationBody
        {
            Format = 1,
            Network = network,
            PassportId = ByteString.CopyFrom(passportId),
            RevokedUnixMs = revokedUnixMs,
            Issuer = ByteString.CopyFrom(issuer.PublicKey.Spki.Span),
        }.ToByteString();
        return new Revocation
        {
            Body = body,
            Signature = ByteString.CopyFrom(issuer.Sign(PassportVerifier.RevocationSigningBytes(body.Span))),
            Delegation = adminPassport,
        };
    }

    /// <summary>The id of a passport (16 bytes), read from its body without verifying it.</summary>
    public static byte[] IdOf(Passport passport)
    {
        ArgumentNullException.ThrowIfNull(passport);
        return PassportBody.Parser.ParseFrom(passport.Body).Id.ToByteArray();
    }
}
