using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Node.Routing;
using Memo.Node.Security;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;

namespace Memo.Node.Tests.Shards;

/// <summary>
/// Key-value writes on a network with an owner, decided by the shard state machine alone (what every replica runs at
/// apply): only a command carrying a passport with `write` on the key and its user's signature over this very write
/// changes an entry; forged, absent, misbound or out-of-grant proofs are refused PERMISSION_DENIED.
/// </summary>
public sealed class ShardAuthorizationTests : IDisposable
{
    private const string Network = "memo";
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _alice = MemoKeyPair.Generate();
    private readonly MemoKeyPair _mallory = MemoKeyPair.Generate();
    private readonly ShardLayout _layout;

    public ShardAuthorizationTests() => _layout = new ShardLayout(1, new NetworkAccess(_owner.PublicKey, Network));

    public void Dispose()
    {
        _owner.Dispose();
        _alice.Dispose();
        _mallory.Dispose();
    }

    private Passport PassportFor(MemoKeyPair user, PassportRights rights, string prefix = "", long expires = 0, MemoKeyPair? issuer = null) =>
        PassportIssuer.Issue(issuer ?? _owner, user.PublicKey, "u", Network, [new PassportGrantRule(rights, prefix)], 1, expires);

    // The command KeyValueStore proposes for an authenticated upsert: an inline value block and the writer's proof.
    private static ShardCommand Upsert(string key, byte[] value, MemoKeyPair signer, Passport passport, long issuedMs = 1_000, byte[]? signedValue = null)
    {
        var block = BlockFactory.MakeImmutable(value, signer.PublicKey);
        var token = new UserCredentials(signer, passport).Sign(CallStatement.KvUpsert,
            CallStatement.KeyedSummaryDigest(key, SHA256.HashData(signedValue ?? value)), issuedMs);
        return new ShardCommand
        {
            Format = ShardStateMachine.Format,
            WriteEntry = new WriteEntry
            {
                Key = key,
                Mode = WriteMode.Upsert,
                ValueAddress = block.Address,
                ValueBlock = block,
                Proof = new WriterProof { Passport = passport.ToByteString(), CallToken = token.ToByteString(), ValueDigest = ByteString.CopyFrom(SHA256.HashData(signedValue ?? value)) },
            },
        };
    }

    private ShardDecision Apply(ShardCommand command, byte[]? current = null)
    {
        if (!ShardStateMachine.TryTarget(command, new ShardId(0), _layout, out _, out var refusal))
        {
            return ShardDecision.Unchanged(refusal);
        }
        return ShardStateMachine.Decide(command, current);
    }

    private static string DeniedReason(ShardDecision decision)
    {
        var refused = Assert.IsType<ShardResult.Refused>(decision.Result);
        Assert.Equal(BlockRejection.PermissionDenied, refused.Kind);
        Assert.False(decision.Changed);
        return refused.Reason;
    }

    [Fact]
    public void A_write_with_a_passport_granting_write_and_its_users_signature_is_applied()
    {
        var decision = Apply(Upsert("k", [1, 2, 3], _alice, PassportFor(_alice, PassportRights.Write)));
        Assert.IsType<ShardResult.EntryWritten>(decision.Result);
        Assert.True(decision.Changed);
    }

    [Fact]
    public void A_write_without_a_proof_is_refused_on_a_network_with_an_owner_and_applied_on_one_without()
    {
        var command = Upsert("k", [1], _alice, PassportFor(_alice, PassportRights.Write));
        command.WriteEntry.Proof = null;
        Assert.Contains("no writer's proof", DeniedReason(Apply(command)), StringComparison.Ordinal);
        Assert.True(ShardStateMachine.TryTarget(command, new ShardId(0), new ShardLayout(1), out _, out _));
        Assert.IsType<ShardResult.EntryWritten>(ShardStateMachine.Decide(command, null).Result);
    }

    [Fact]
    public void Forged_proofs_are_refused_a_self_signed_passport_a_stolen_passport_and_a_signature_over_another_value()
    {
        // mallory's own passport, signed by mallory instead of the owner.
        Assert.Contains("passport is not valid", DeniedReason(Apply(Upsert("k", [1], _mallory, PassportFor(_mallory, PassportRights.Write, issuer: _mallory)))),
            StringComparison.Ordinal);
        // alice's genuine passport, with mallory's signature on the call.
        var stolen = Upsert("k", [1], _alice, PassportFor(_alice, PassportRights.Write));
        var byMallory = Upsert("k", [1], _mallory, PassportFor(_mallory, PassportRights.Read));
        stolen.WriteEntry.Proof.CallToken = byMallory.WriteEntry.Proof.CallToken;
        Assert.Contains("signature does not verify", DeniedReason(Apply(stolen)), StringComparison.Ordinal);
        // alice signed the value [1]; the command stores [2] with her digest of [1].
        Assert.Contains("not the one the writer signed", DeniedReason(Apply(Upsert("k", [2], _alice, PassportFor(_alice, PassportRights.Write), signedValue: [1]))),
            StringComparison.Ordinal);
        // alice's signature for key k, replayed onto key j.
        var moved = Upsert("k", [1], _alice, PassportFor(_alice, PassportRights.Write));
        moved.WriteEntry.Key = "j";
        Assert.Contains("signature does not verify", DeniedReason(Apply(moved)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_write_beyond_the_passports_grants_or_after_its_expiry_is_refused()
    {
        Assert.Contains("grants no write", DeniedReason(Apply(Upsert("k", [1], _alice, PassportFor(_alice, PassportRights.Read)))), StringComparison.Ordinal);
        var team = PassportFor(_alice, PassportRights.Write, prefix: "team/");
        Assert.IsType<ShardResult.EntryWritten>(Apply(Upsert("team/k", [1], _alice, team)).Result);
        Assert.Contains("grants no write on 'other'", DeniedReason(Apply(Upsert("other", [1], _alice, team))), StringComparison.Ordinal);
        Assert.Contains("had expired", DeniedReason(Apply(Upsert("k", [1], _alice, PassportFor(_alice, PassportRights.Write, expires: 500), issuedMs: 1_000))),
            StringComparison.Ordinal);
        Assert.Contains("reserved prefix", DeniedReason(Apply(Upsert(NetworkAccess.RevocationKey, [1], _alice, PassportFor(_alice, PassportRights.Write)))),
            StringComparison.Ordinal);
    }

    [Fact]
    public void A_delete_needs_the_deleters_signature_over_the_delete_of_that_key()
    {
        var passport = PassportFor(_alice, PassportRights.Write);
        var written = Apply(Upsert("k", [1], _alice, passport));
        var token = new UserCredentials(_alice, passport).Sign(CallStatement.KvDelete, CallStatement.KeyedSummaryDigest("k", []), 1_000);
        var delete = new ShardCommand
        {
            Format = ShardStateMachine.Format,
            DeleteEntry = new DeleteEntry { Key = "k", Proof = new WriterProof { Passport = passport.ToByteString(), CallToken = token.ToByteString() } },
        };
        Assert.IsType<ShardResult.EntryDeleted>(Apply(delete, written.NewValue).Result);
        // The upsert's token does not authorise a delete.
        var upsertToken = Upsert("k", [1], _alice, passport).WriteEntry.Proof.CallToken;
        delete.DeleteEntry.Proof.CallToken = upsertToken;
        DeniedReason(Apply(delete, written.NewValue));
    }

    [Fact]
    public void A_revocation_signed_by_the_owner_is_added_to_the_list_once_and_one_by_a_stranger_is_refused()
    {
        var id = PassportIssuer.IdOf(PassportFor(_alice, PassportRights.Read));
        ShardCommand Revoke(MemoKeyPair signer) => new()
        {
            Format = ShardStateMachine.Format,
            RevokePassport = new RevokePassport { Revocation = PassportIssuer.Revoke(signer, id, Network, 7).ToByteString() },
        };
        var first = Apply(Revoke(_owner));
        var written = Assert.IsType<ShardResult.EntryWritten>(first.Result);
        var list = RevocationList.Parser.ParseFrom(written.Current.ValueBlock.Data);
        Assert.Equal(id, Assert.Single(list.PassportIds).ToByteArray());
        Assert.Null(ShardStateMachine.CheckRecord(ShardRecordKey.ForEntry(NetworkAccess.RevocationKey), first.NewValue!, new ShardId(0), _layout));
        Assert.False(Apply(Revoke(_owner), first.NewValue).Changed); // already revoked: the list stays as it is
        Assert.Contains("not signed by the network owner", DeniedReason(Apply(Revoke(_mallory), first.NewValue)), StringComparison.Ordinal);
        Assert.False(ShardStateMachine.TryTarget(Revoke(_owner), new ShardId(0), new ShardLayout(1), out _, out _));
    }
}
