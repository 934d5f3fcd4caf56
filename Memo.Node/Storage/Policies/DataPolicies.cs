namespace Memo.Node.Storage.Policies;

/// <summary>
/// The network's policies for stored data: how each node compresses and whether it encrypts what its silo holds. Fixed
/// when the network is created (recorded in every node's data folder, compared between members like the replication
/// factor): the stored frames would support a change, but nothing changes them cluster-wide yet.
/// </summary>
/// <param name="Compression">The codec records are compressed with before they are stored.</param>
/// <param name="EncryptAtRest">Whether records are encrypted (AES-256-GCM) before they are stored.</param>
public sealed record DataPolicies(ValueCompression Compression, bool EncryptAtRest)
{
    /// <summary>Neither compression nor encryption: records are stored unframed, as before policies existed.</summary>
    public static DataPolicies None { get; } = new(ValueCompression.Off, false);

    /// <summary>True when records are stored as they are (no frame).</summary>
    public bool IsNone => Compression == ValueCompression.Off && !EncryptAtRest;

    /// <summary>The word HOCON and the CLI use for <paramref name="compression"/>.</summary>
    public static string Name(ValueCompression compression) => compression switch
    {
        ValueCompression.Off => "off",
        ValueCompression.Zstd => "zstd",
        ValueCompression.Brotli => "brotli",
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown compression"),
    };

    /// <inheritdoc />
    public override string ToString() => $"compression {Name(Compression)}, encrypt-at-rest {(EncryptAtRest ? "on" : "off")}";
}
