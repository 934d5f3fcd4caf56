namespace Memo.Protocol.Grpc;

/// <summary>
/// The status codes of the gRPC protocol (grpc/doc/statuscodes.md). The numeric values are on the wire in the
/// <c>grpc-status</c> header and must never change.
/// </summary>
public enum GrpcStatusCode
{
    /// <summary>Not an error; returned on success.</summary>
    OK = 0,

    /// <summary>The operation was cancelled, typically by the caller.</summary>
    Cancelled = 1,

    /// <summary>An error with no better code, or an exception raised by a handler (details are logged, not sent).</summary>
    Unknown = 2,

    /// <summary>The client specified an invalid argument, whatever the state of the system (e.g. a malformed request message).</summary>
    InvalidArgument = 3,

    /// <summary>The deadline expired before the operation could complete.</summary>
    DeadlineExceeded = 4,

    /// <summary>A requested entity (key, block) was not found.</summary>
    NotFound = 5,

    /// <summary>The entity the client tried to create already exists.</summary>
    AlreadyExists = 6,

    /// <summary>The caller may not execute the operation.</summary>
    PermissionDenied = 7,

    /// <summary>A resource ran out (a quota, a message size limit, memory).</summary>
    ResourceExhausted = 8,

    /// <summary>The system is not in a state required for the operation (e.g. a version conflict the client must resolve).</summary>
    FailedPrecondition = 9,

    /// <summary>The operation was aborted, typically by a concurrency conflict; the client may retry at a higher level.</summary>
    Aborted = 10,

    /// <summary>The operation was attempted past the valid range.</summary>
    OutOfRange = 11,

    /// <summary>The method is not implemented or not supported by this server.</summary>
    Unimplemented = 12,

    /// <summary>An invariant expected by the underlying system was broken (e.g. a malformed gRPC frame).</summary>
    Internal = 13,

    /// <summary>The service is currently unavailable (e.g. nothing listens at the target); usually transient, retry with backoff.</summary>
    Unavailable = 14,

    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,

    /// <summary>The request does not have valid authentication credentials.</summary>
    Unauthenticated = 16,
}
