namespace Memo.Node.Storage;

/// <summary>
/// The silo's file is not a database, or the database engine found it damaged. Not recoverable by retrying:
/// the node must stop using this silo (restore it, or rebuild the replicas from their peers).
/// </summary>
public sealed class SiloCorruptException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>; the message names the file and the problem.</summary>
    public SiloCorruptException(string filePath, string problem, Exception? innerException = null)
        : base($"Silo file '{filePath}' is unusable: {problem}", innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The full path of the damaged file.</summary>
    public string FilePath { get; }
}
