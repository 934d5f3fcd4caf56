namespace Memo.Admin;

// The local messages between AdminClient and AdminClientActor (never on the wire: the wire's are AdminRequest and
// AdminReply).

/// <summary>Asks <see cref="AdminClientActor"/> to resolve the admin actor; answered by <see cref="AdminResolved"/> or
/// <see cref="AdminClientFailure"/>.</summary>
internal sealed record ResolveAdmin
{
    /// <summary>The one instance.</summary>
    public static readonly ResolveAdmin Instance = new();
}

/// <summary>The admin actor is resolved: requests can go.</summary>
internal sealed record AdminResolved
{
    /// <summary>The one instance.</summary>
    public static readonly AdminResolved Instance = new();
}

/// <summary>A request could not be asked: why, and whether the node is unreachable (as opposed to a client mistake).</summary>
internal sealed record AdminClientFailure(string Message, bool Unreachable);
