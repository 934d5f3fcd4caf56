using System.Security.Cryptography;
using Memo.Protocol.Blocks;

namespace Memo.Protocol.Users;

// Design note: a user is its public key.
//
// memo identified users by their RSA public key and let a name stand for the key through a user block. Memo.Akka
// keeps the model with P-256: the identity of a user is a MemoPublicKey (canonical DER SubjectPublicKeyInfo, the same
// bytes a block carries as its owner), so everything that names a user (a passport, an ACL entry, a block owner, a
// signed call) names it by those 91 bytes. The name is a label for people: two users may share a name on different
// machines, never a key. The public part travels as a PEM "PUBLIC KEY" (SPKI), which openssl and every TLS library
// read and write.

/// <summary>
/// A user: a display name and the P-256 public key that is the user's identity (<see cref="MemoPublicKey"/>; the
/// name only labels it). Immutable.
/// </summary>
/// <param name="Name">The name the user was created or imported under (<see cref="IsValidName"/>).</param>
/// <param name="Key">The user's public key: what passports, ACLs and block owners name.</param>
public sealed record MemoUser(string Name, MemoPublicKey Key)
{
    private const string PemLabel = "PUBLIC KEY";

    /// <summary>Most UTF-8 bytes of a user name.</summary>
    public const int MaxNameBytes = 64;

    /// <summary>
    /// True for a name of 1 to <see cref="MaxNameBytes"/> bytes of ASCII letters, digits, <c>-</c>, <c>_</c> and
    /// <c>.</c>, not starting with <c>.</c>: names become file names in the user's config folder and block names.
    /// </summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameBytes } && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>The public key as a PEM <c>PUBLIC KEY</c> block (DER SubjectPublicKeyInfo), what <c>memo user export</c> prints.</summary>
    public string ToPem() => PublicKeyToPem(Key);

    /// <summary>A short fingerprint of the key (<c>p256:</c> and the first 8 bytes of SHA-256 of the SPKI, hex), for people and logs.</summary>
    public string Fingerprint => Key.ToString();

    /// <summary>The key as a PEM <c>PUBLIC KEY</c> block.</summary>
    public static string PublicKeyToPem(MemoPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new string(PemEncoding.Write(PemLabel, key.Spki.Span)) + "\n";
    }

    /// <summary>
    /// Reads a public key from the first PEM <c>PUBLIC KEY</c> block in <paramref name="pem"/>; throws
    /// <see cref="FormatException"/> when there is none or it is not a canonical P-256 key.
    /// </summary>
    public static MemoPublicKey PublicKeyFromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var text = pem.AsSpan();
        while (PemEncoding.TryFind(text, out var fields))
        {
            if (text[fields.Label].SequenceEqual(PemLabel))
            {
                var der = Convert.FromBase64String(new string(text[fields.Base64Data]));
                return MemoPublicKey.FromSpki(der);
            }
            text = text[fields.Location.End..];
        }
        throw new FormatException("No PEM PUBLIC KEY block found.");
    }
}
