using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Security;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Shards;

// Design note: writers' proofs at apply.
//
// On a network with an owner (ShardLayout.Access), a key-value write or delete changes an entry only when it carries
// a WriterProof: a passport that chains to the owner and grants `write` on the key, and a call token whose signature,
// by the passport's user, covers the statement the replica rebuilds from the command itself (the method from the
// write mode, the key, the value's digest; the digest is checked against an inline value block). So no member, and no
// path around the API, can write a key without a user who may write it having signed that write. What a replica
// cannot check, having no clock and no revocation list in this shard: the token's age (the API refuses tokens outside
// memo.security.call-window), revocation (the API refuses revoked passports), and replays of a signed write of the same
// key and value (docs/security.md lists them). It does check that the passport had not expired at the token's
// (signed) time. The decision depends on the command and the owner key alone, so every replica decides alike.

public static partial class ShardStateMachine
{
    /// <summary>Most passport ids a network's revocation list holds.</summary>
    public const int MaxRevocations = 65536;

    // The revocation list's value block is an ownerless CHB with a fixed salt: every replica builds the same block.
    private static readonly byte[] RevocationSalt = SHA256.HashData("memo/revocations/1"u8);

    /// <summary>
    /// The refusal the state machine gives <paramref name="command"/> for want of a writer's right on a network with
    /// an owner (<paramref name="access"/>), or null when it may proceed; for a proposer that checks before proposing.
    /// </summary>
    public static ShardResult.Refused? Authorize(ShardCommand command, NetworkAccess? access)
    {
        switch (command.CommandCase)
        {
            case ShardCommand.CommandOneofCase.RevokePassport:
                if (access is null)
                {
                    return Refuse("the network has no owner, so it has no passports to revoke");
                }
                Revocation revocation;
                try
                {
                    revocation = Revocation.Parser.ParseFrom(command.RevokePassport.Revocation);
                }
                catch (InvalidProtocolBufferException e)
                {
                    return Refuse("the revocation does not parse: " + e.Message);
                }
                return PassportVerifier.VerifyRevocation(revocation, access.Owner, access.Network, out var problem) is null
                    ? Denied(problem!)
                    : null;
            case ShardCommand.CommandOneofCase.WriteEntry when access is not null:
                var write = command.WriteEntry;
                var method = write.Mode switch
                {
                    WriteMode.Insert => CallStatement.KvInsert,
                    WriteMode.Update => CallStatement.KvUpdate,
                    _ => CallStatement.KvUpsert,
                };
                return AuthorizeEntry(access, write.Key, method, write.Proof, write: true, write.ValueBlock);
            case ShardCommand.CommandOneofCase.DeleteEntry when access is not null:
                return AuthorizeEntry(access, command.DeleteEntry.Key, CallStatement.KvDelete, command.DeleteEntry.Proof, write: false, inline: null);
            default:
                return null;
        }
    }

    private static ShardResult.Refused? AuthorizeEntry(NetworkAccess access, string key, string method, WriterProof? proof, bool write, Block? inline)
    {
        if (key.StartsWith(NetworkAccess.ReservedPrefix, StringComparison.Ordinal))
        {
            return Denied("keys under the reserved prefix \\0memo/ belong to the network");
        }
        if (proof is null || proof.Passport.IsEmpty || proof.CallToken.IsEmpty)
        {
            return Denied("the network has an owner and the command carries no writer's proof (passport and signed call)");
        }
        if (!access.TryVerify(proof.Passport.Span, out var passport, out var problem))
        {
            return Denied("the writer's passport is not valid: " + problem);
        }
        if (!passport.Allows(PassportRights.Write, key))
        {
            return Denied($"the passport of {passport.UserName} ({passport.User}) grants no write on '{key}'");
        }
        CallToken token;
        try
        {
            token = CallToken.Parser.ParseFrom(proof.CallToken);
        }
        catch (InvalidProtocolBufferException e)
        {
            return Denied("the writer's call token does not parse: " + e.Message);
        }
        if (passport.IsExpiredAt(token.IssuedUnixMs))
        {
            return Denied("the writer's passport had expired when the call was signed");
        }
        if (token.Nonce.Length != CallStatement.NonceBytes)
        {
            return Denied($"the call token's nonce is not {CallStatement.NonceBytes} bytes");
        }
        var valueDigest = ReadOnlySpan<byte>.Empty;
        if (write)
        {
            if (proof.ValueDigest.Length != SHA256.HashSizeInBytes)
            {
                return Denied("the writer's proof carries no value digest");
            }
            if (inline is not null && !SHA256.HashData(inline.Data.Span).AsSpan().SequenceEqual(proof.ValueDigest.Span))
            {
                return Denied("the value is not the one the writer signed");
            }
            valueDigest = proof.ValueDigest.Span;
        }
        var statement = CallStatement.Bytes(method, token.IssuedUnixMs, token.Nonce.Span, CallStatement.KeyedSummaryDigest(key, valueDigest));
        return access.VerifyCall(passport.User, statement, token.Signature.Span)
            ? null
            : Denied("the writer's signature does not verify for this command");
    }

    // The revocation list with the revoked id added: the entry's value is a RevocationList, sorted and unique.
    private static ShardDecision DecideRevocation(RevokePassport revoke, KvEntry? previous)
    {
        var id = RevocationBody.Parser.ParseFrom(Revocation.Parser.ParseFrom(revoke.Revocation).Body).PassportId;
        var list = previous?.ValueBlock is { } block ? RevocationList.Parser.ParseFrom(block.Data) : new RevocationList { Format = 1 };
        var ids = list.PassportIds.Select(i => i.ToByteArray()).ToList();
        if (ids.Any(i => i.AsSpan().SequenceEqual(id.Span)))
        {
            return ShardDecision.Unchanged(new ShardResult.EntryWritten(previous, previous!));
        }
        if (ids.Count >= MaxRevocations)
        {
            return ShardDecision.Unchanged(Refuse($"the revocation list holds {MaxRevocations} passports, its limit"));
        }
        ids.Add(id.ToByteArray());
        ids.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        var updated = new RevocationList { Format = 1 };
        updated.PassportIds.AddRange(ids.Select(ByteString.CopyFrom));
        var value = BlockFactory.MakeImmutable(updated.ToByteArray(), owner: null, RevocationSalt);
        var entry = new KvEntry { Format = Format, ValueAddress = value.Address, ValueBlock = value, Version = (previous?.Version ?? 0) + 1 };
        return ShardDecision.Put(new ShardResult.EntryWritten(previous, entry), entry.ToByteArray());
    }

    private static ShardResult.Refused Denied(string reason) => new(BlockRejection.PermissionDenied, reason);
}
