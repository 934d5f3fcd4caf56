namespace Memo.Node.Hosting;

/// <summary>
/// The node key file cannot be used as it is: readable by other users, encrypted without a passphrase given, or
/// not decrypted by the one given. The message says what to run or set; the node does not start.
/// </summary>
public sealed class NodeKeyException : Exception
{
    /// <summary>Creates the exception with a message that names the fix.</summary>
    public NodeKeyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that names the fix and the failure behind it.</summary>
    public NodeKeyException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
