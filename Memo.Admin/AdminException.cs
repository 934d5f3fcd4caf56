using Memo.Admin.Wire;

namespace Memo.Admin;

/// <summary>The node's admin actor answered a request with an error: <see cref="Code"/> says which kind (the gRPC status
/// numbers: NOT_FOUND unknown member, FAILED_PRECONDITION refused change, UNAVAILABLE not a member, INVALID_ARGUMENT bad
/// request), the message why.</summary>
public sealed class AdminException : Exception
{
    /// <summary>Creates the exception for an error reply.</summary>
    public AdminException(AdminErrorCode code, string message)
        : base(message) => Code = code;

    /// <summary>What kind of refusal this is.</summary>
    public AdminErrorCode Code { get; }
}
