namespace Memo.Node.Storage.Policies;

/// <summary>
/// The codec a network compresses stored records with (<c>memo.network.compression</c>). The values are persisted (in
/// the data folder's cluster record and in each stored record's frame): never renumber them.
/// </summary>
public enum ValueCompression
{
    /// <summary>Records are stored as they are.</summary>
    Off = 0,

    /// <summary>Zstandard (ZstdSharp.Port, level 1).</summary>
    Zstd = 1,

    /// <summary>Brotli (System.IO.Compression, quality 1).</summary>
    Brotli = 2,
}
