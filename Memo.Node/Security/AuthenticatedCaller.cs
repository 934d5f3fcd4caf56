using Memo.Protocol.Users;

namespace Memo.Node.Security;

/// <summary>
/// A call whose passport and token <see cref="PassportGate"/> accepted: the verified passport, and the raw passport
/// and token bytes the key-value store forwards to the shard as the writer's proof.
/// </summary>
/// <param name="Passport">The caller's verified passport.</param>
/// <param name="PassportBytes">The passport as the caller sent it.</param>
/// <param name="TokenBytes">The call token as the caller sent it.</param>
public sealed record AuthenticatedCaller(VerifiedPassport Passport, byte[] PassportBytes, byte[] TokenBytes);
