using Google.Protobuf;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;

namespace Memo.Protocol.Tests.Users;

public sealed class PassportVerifierTests : IDisposable
{
    private const string Network = "memo";
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _alice = MemoKeyPair.Generate();
    private readonly MemoKeyPair _bob = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        _alice.Dispose();
        _bob.Dispose();
    }

    private Passport Issue(MemoKeyPair issuer, MemoKeyPair user, PassportRights rights, string prefix = "", long expires = 0, Passport? delegation = null, string network = Network) =>
        PassportIssuer.Issue(issuer, user.PublicKey, "u", network, [new PassportGrantRule(rights, prefix)], 1_000, expires, delegation);

    [Fact]
    public void An_owner_signed_passport_verifies_with_its_user_grants_and_id()
    {
        var passport = Issue(_owner, _alice, PassportRights.Read | PassportRights.Write);
        Assert.True(PassportVerifier.TryVerify(passport, _owner.PublicKey, Network, out var verified, out var problem), problem);
        Assert.Equal(_alice.PublicKey, verified.User);
        Assert.True(verified.Allows(PassportRights.Write, "any/key"));
        Assert.False(verified.Allows(PassportRights.Admin, ""));
        Assert.Equal(Convert.ToHexStringLower(PassportIssuer.IdOf(passport)), verified.Id);
        Assert.Single(verified.ChainIds);
    }

    [Fact]
    public void A_passport_signed_by_another_key_or_for_another_network_or_tampered_is_refused()
    {
        Assert.False(PassportVerifier.TryVerify(Issue(_bob, _alice, PassportRights.Write), _owner.PublicKey, Network, out _, out var stranger));
        Assert.Contains("not signed by the network owner", stranger, StringComparison.Ordinal);
        Assert.False(PassportVerifier.TryVerify(Issue(_owner, _alice, PassportRights.Write, network: "other"), _owner.PublicKey, Network, out _, out var network));
        Assert.Contains("network 'other'", network, StringComparison.Ordinal);

        // The body re-signed with more rights by nobody: the owner's signature no longer covers it.
        var passport = Issue(_owner, _alice, PassportRights.Read);
        var body = PassportBody.Parser.ParseFrom(passport.Body);
        body.Grants[0].Rights = (uint)(PassportRights.Read | PassportRights.Write | PassportRights.Admin);
        var tampered = new Passport { Body = body.ToByteString(), Signature = passport.Signature };
        Assert.False(PassportVerifier.TryVerify(tampered, _owner.PublicKey, Network, out _, out var forged));
        Assert.Contains("signature does not verify", forged, StringComparison.Ordinal);
        Assert.False(PassportVerifier.TryVerify((Passport?)null, _owner.PublicKey, Network, out _, out _));
    }

    [Fact]
    public void A_delegate_holding_sign_issues_passports_within_its_own_rights_only()
    {
        var delegatePassport = Issue(_owner, _bob, PassportRights.Sign | PassportRights.Read | PassportRights.Write, expires: 50_000);
        var delegated = Issue(_bob, _alice, PassportRights.Write, prefix: "team/", expires: 90_000, delegation: delegatePassport);
        Assert.True(PassportVerifier.TryVerify(delegated, _owner.PublicKey, Network, out var verified, out var problem), problem);
        Assert.Equal(2, verified.ChainIds.Length);
        Assert.Equal(50_000, verified.ExpiresUnixMs); // the earliest expiry in the chain
        Assert.True(verified.IsExpiredAt(50_000));

        var tooMuch = Issue(_bob, _alice, PassportRights.Admin, delegation: delegatePassport);
        Assert.False(PassportVerifier.TryVerify(tooMuch, _owner.PublicKey, Network, out _, out var more));
        Assert.Contains("more than it holds", more, StringComparison.Ordinal);

        var withoutSign = Issue(_owner, _bob, PassportRights.Read | PassportRights.Write);
        Assert.False(PassportVerifier.TryVerify(Issue(_bob, _alice, PassportRights.Read, delegation: withoutSign), _owner.PublicKey, Network, out _, out var noSign));
        Assert.Contains("holder of `sign`", noSign, StringComparison.Ordinal);
    }

    [Fact]
    public void A_grant_with_a_prefix_covers_only_keys_under_it_and_cannot_carry_network_wide_rights()
    {
        var passport = Issue(_owner, _alice, PassportRights.Read | PassportRights.Write, prefix: "team/");
        Assert.True(PassportVerifier.TryVerify(passport, _owner.PublicKey, Network, out var verified, out _));
        Assert.True(verified.Allows(PassportRights.Write, "team/a"));
        Assert.False(verified.Allows(PassportRights.Write, "teams"));
        Assert.False(verified.Allows(PassportRights.Read, ""));
        Assert.Throws<ArgumentException>(() => Issue(_owner, _alice, PassportRights.Sign, prefix: "team/"));
    }

    [Fact]
    public void A_revocation_verifies_when_signed_by_the_owner_or_an_admin_only()
    {
        var id = PassportIssuer.IdOf(Issue(_owner, _alice, PassportRights.Read));
        Assert.Equal(Convert.ToHexStringLower(id), PassportVerifier.VerifyRevocation(PassportIssuer.Revoke(_owner, id, Network, 5), _owner.PublicKey, Network, out _));
        Assert.Null(PassportVerifier.VerifyRevocation(PassportIssuer.Revoke(_bob, id, Network, 5), _owner.PublicKey, Network, out var stranger));
        Assert.Contains("not signed by the network owner", stranger, StringComparison.Ordinal);
        var admin = Issue(_owner, _bob, PassportRights.Admin);
        Assert.NotNull(PassportVerifier.VerifyRevocation(PassportIssuer.Revoke(_bob, id, Network, 5, admin), _owner.PublicKey, Network, out _));
        var notAdmin = Issue(_owner, _bob, PassportRights.Read | PassportRights.Write);
        Assert.Null(PassportVerifier.VerifyRevocation(PassportIssuer.Revoke(_bob, id, Network, 5, notAdmin), _owner.PublicKey, Network, out _));
    }

    [Fact]
    public void A_call_token_covers_the_method_the_key_and_the_value()
    {
        var credentials = new UserCredentials(_alice, Issue(_owner, _alice, PassportRights.Write));
        var request = new Kvs.UpsertRequest { Key = "k", Value = ByteString.CopyFromUtf8("v") };
        var token = credentials.Sign(CallStatement.KvUpsert, CallStatement.SummaryDigest(request), 42);
        var statement = CallStatement.Bytes(CallStatement.KvUpsert, 42, token.Nonce.Span, CallStatement.SummaryDigest(request));
        Assert.True(_alice.PublicKey.Verify(statement, token.Signature.Span));

        // What a replica rebuilds from the command (key and value digest) is the same statement.
        var fromCommand = CallStatement.KeyedSummaryDigest("k", System.Security.Cryptography.SHA256.HashData("v"u8));
        Assert.Equal(CallStatement.SummaryDigest(request), fromCommand);
        var otherValue = CallStatement.SummaryDigest(new Kvs.UpsertRequest { Key = "k", Value = ByteString.CopyFromUtf8("w") });
        Assert.False(_alice.PublicKey.Verify(CallStatement.Bytes(CallStatement.KvUpsert, 42, token.Nonce.Span, otherValue), token.Signature.Span));
        Assert.False(_alice.PublicKey.Verify(CallStatement.Bytes(CallStatement.KvInsert, 42, token.Nonce.Span, fromCommand), token.Signature.Span));
        Assert.Throws<ArgumentException>(() => new UserCredentials(_bob, credentials.Passport));
    }

    [Fact]
    public void A_user_public_key_round_trips_through_its_PEM_form()
    {
        var user = new MemoUser("alice", _alice.PublicKey);
        Assert.Equal(_alice.PublicKey, MemoUser.PublicKeyFromPem(user.ToPem()));
        Assert.Throws<FormatException>(() => MemoUser.PublicKeyFromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
        Assert.True(MemoUser.IsValidName("alice.b-c_1"));
        Assert.False(MemoUser.IsValidName("../x"));
        Assert.False(MemoUser.IsValidName(""));
    }
}
