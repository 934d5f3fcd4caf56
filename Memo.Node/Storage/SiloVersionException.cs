namespace Memo.Node.Storage;

/// <summary>
/// The silo's file is a database this build cannot use: written by a newer version of Memo (a schema version
/// above the one supported), or not a Memo silo at all. Opening it would risk damaging it, so nothing is changed.
/// </summary>
public sealed class SiloVersionException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>; the message names the file and the problem.</summary>
    public SiloVersionException(string filePath, long foundVersion, long supportedVersion, string problem)
        : base($"Silo file '{filePath}' cannot be opened: {problem} (schema version {foundVersion}, this build supports up to {supportedVersion}).")
    {
        FilePath = filePath;
        FoundVersion = foundVersion;
        SupportedVersion = supportedVersion;
    }

    /// <summary>The full path of the file.</summary>
    public string FilePath { get; }

    /// <summary>The schema version stored in the file.</summary>
    public long FoundVersion { get; }

    /// <summary>The newest schema version this build reads and writes.</summary>
    public long SupportedVersion { get; }
}
