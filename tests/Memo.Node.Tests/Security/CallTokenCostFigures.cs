using System.Diagnostics;
using Google.Protobuf;
using Memo.Node.Security;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Security;

/// <summary>
/// What a signed call costs (figures, printed, for docs/security.md): the client's signature, the node's verification
/// of the token (once per call), of the passport (once per node, then cached) and the cached re-check a write's
/// proposer and apply make on the node that took it. Asserts only that every verification succeeded.
/// </summary>
public sealed class CallTokenCostFigures(ITestOutputHelper output)
{
    [Fact]
    public void Per_call_signing_and_verification_costs_are_printed()
    {
        using var owner = MemoKeyPair.Generate();
        using var alice = MemoKeyPair.Generate();
        var passport = PassportIssuer.Issue(owner, alice.PublicKey, "alice", "memo", [new PassportGrantRule(PassportRights.Write, "")], 1);
        var credentials = new UserCredentials(alice, passport);
        var access = new NetworkAccess(owner.PublicKey, "memo");
        var passportBytes = passport.ToByteArray();
        const int Calls = 2000;
        var statements = new byte[Calls][];
        var signatures = new byte[Calls][];

        var sign = Stopwatch.StartNew();
        for (var i = 0; i < Calls; i++)
        {
            var request = new Memo.Protocol.Kvs.UpsertRequest { Key = "k" + i, Value = ByteString.CopyFromUtf8("value") };
            var token = credentials.Sign(CallStatement.KvUpsert, CallStatement.SummaryDigest(request), 1_000 + i);
            statements[i] = CallStatement.Bytes(CallStatement.KvUpsert, token.IssuedUnixMs, token.Nonce.Span, CallStatement.SummaryDigest(request));
            signatures[i] = token.Signature.ToByteArray();
        }
        sign.Stop();

        var passportFirst = Stopwatch.StartNew();
        Assert.True(access.TryVerify(passportBytes, out _, out _));
        passportFirst.Stop();
        var passportCached = Stopwatch.StartNew();
        for (var i = 0; i < Calls; i++)
        {
            Assert.True(access.TryVerify(passportBytes, out _, out _));
        }
        passportCached.Stop();

        var verify = Stopwatch.StartNew();
        for (var i = 0; i < Calls; i++)
        {
            Assert.True(access.VerifyCall(alice.PublicKey, statements[i], signatures[i]));
        }
        verify.Stop();
        var recheck = Stopwatch.StartNew();
        for (var i = 0; i < Calls; i++)
        {
            Assert.True(access.VerifyCall(alice.PublicKey, statements[i], signatures[i]));
        }
        recheck.Stop();

        double Us(Stopwatch s, int n) => s.Elapsed.TotalMicroseconds / n;
        output.WriteLine($"client signs a call: {Us(sign, Calls):F1} µs; node verifies its token: {Us(verify, Calls):F1} µs ({1e6 / Us(verify, Calls):F0}/s on one core)");
        output.WriteLine($"passport: first verification {passportFirst.Elapsed.TotalMicroseconds:F0} µs, cached {Us(passportCached, Calls):F2} µs; a write's cached re-check (proposer, apply): {Us(recheck, Calls):F2} µs");
    }
}
