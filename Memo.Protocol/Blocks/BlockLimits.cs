namespace Memo.Protocol.Blocks;

/// <summary>
/// Size limits of the block format. They are part of the format (every replica must agree on what is valid),
/// so they are constants rather than options; transport limits (gRPC message size) are configured separately
/// and must be at least <see cref="MaxDataBytes"/> plus the fixed overhead.
/// </summary>
public static class BlockLimits
{
    /// <summary>Largest block payload (<c>data</c> or <c>data_plain</c>): 16 MiB.</summary>
    public const int MaxDataBytes = 16 * 1024 * 1024;

    /// <summary>Longest name of a named block (NB): 1 KiB.</summary>
    public const int MaxNameBytes = 1024;

    /// <summary>Salt length of immutable (CHB) and mutable (OKB) blocks; named blocks carry none.</summary>
    public const int SaltBytes = 32;

    /// <summary>ECDSA P-256 signature length in IEEE P1363 form (r ‖ s, 32 bytes each).</summary>
    public const int SignatureBytes = 64;

    /// <summary>
    /// Length of a P-256 public key as DER SubjectPublicKeyInfo with an uncompressed point, the only
    /// encoding accepted (so a key has exactly one byte form and addresses derived from it are unique).
    /// </summary>
    public const int PublicKeyBytes = 91;
}
