using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users.Wire;

namespace Memo.Protocol.Users;

/// <summary>
/// What a client needs to act as a user: the user's key pair and the passport the network owner (or a delegate)
/// signed for it. Signs each call client-side (<see cref="HeadersFor"/>); the node never sees the private key.
/// The caller keeps owning <see cref="Key"/>.
/// </summary>
public sealed class UserCredentials
{
    private readonly byte[] _passportBytes;

    /// <summary>Pairs a key with its passport; throws <see cref="ArgumentException"/> when the passport is for another key.</summary>
    public UserCredentials(MemoKeyPair key, Passport passport)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(passport);
        var body = PassportBody.Parser.ParseFrom(passport.Body);
        if (!key.PublicKey.Matches(body.User.Span))
        {
            throw new ArgumentException("The passport is for another user's key.", nameof(passport));
        }
        Key = key;
        Passport = passport;
        _passportBytes = passport.ToByteArray();
    }

    /// <summary>The user's key pair.</summary>
    public MemoKeyPair Key { get; }

    /// <summary>The user's passport.</summary>
    public Passport Passport { get; }

    /// <summary>A token for one call of <paramref name="method"/> whose summary digest is <paramref name="summaryDigest"/>.</summary>
    public CallToken Sign(string method, ReadOnlySpan<byte> summaryDigest, long issuedUnixMs)
    {
        var nonce = RandomNumberGenerator.GetBytes(CallStatement.NonceBytes);
        return new CallToken
        {
            IssuedUnixMs = issuedUnixMs,
            Nonce = ByteString.CopyFrom(nonce),
            Signature = ByteString.CopyFrom(Key.Sign(CallStatement.Bytes(method, issuedUnixMs, nonce, summaryDigest))),
        };
    }

    /// <summary>The passport and a fresh signed token for one call of <paramref name="method"/> with <paramref name="request"/>.</summary>
    public Metadata HeadersFor(string method, IMessage request, DateTimeOffset now)
    {
        var token = Sign(method, CallStatement.SummaryDigest(request), now.ToUnixTimeMilliseconds());
        return new Metadata
        {
            { AuthHeaders.Passport, _passportBytes },
            { AuthHeaders.CallToken, token.ToByteArray() },
        };
    }
}
