namespace Memo.Protocol.Security;

/// <summary>A certificate or key file is missing, unreadable, or not what it must be; the message says which file and
/// what to do.</summary>
public sealed class CertificateFileException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CertificateFileException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public CertificateFileException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with no message (for serializers and analyzers).</summary>
    public CertificateFileException()
    {
    }
}
