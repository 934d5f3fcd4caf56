namespace Memo.Protocol.Users;

/// <summary>The gRPC metadata an authenticated client sends with every call (binary headers: gRPC base64-encodes them).</summary>
public static class AuthHeaders
{
    /// <summary>The caller's passport (a serialized <c>memo.users.Passport</c>).</summary>
    public const string Passport = "memo-passport-bin";

    /// <summary>The call's token (a serialized <c>memo.users.CallToken</c>): time, nonce and the user's signature.</summary>
    public const string CallToken = "memo-call-bin";
}
