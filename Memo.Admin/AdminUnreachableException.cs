namespace Memo.Admin;

/// <summary>No admin actor could be asked: the remoting endpoint refused or dropped the connection, nothing answered
/// there within the time limit (a wrong network name looks like this: the node drops messages addressed to another
/// system), or the node answered that it has no admin actor.</summary>
public sealed class AdminUnreachableException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> names the endpoint and the cause.</summary>
    public AdminUnreachableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
