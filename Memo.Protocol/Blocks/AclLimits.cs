namespace Memo.Protocol.Blocks;

/// <summary>
/// Size limits of ACB and GB blocks. Like <see cref="BlockLimits"/> they are part of the format (every replica must
/// agree on what is valid), so they are constants. A wrapped key (token) of a 32-byte data key is 114 bytes and of a
/// group's PKCS#8 private key about 220; <see cref="MaxTokenBytes"/> leaves room for a later format.
/// </summary>
public static class AclLimits
{
    /// <summary>Most user entries in an ACB's ACL.</summary>
    public const int MaxEntries = 1024;

    /// <summary>Most group entries in an ACB's ACL.</summary>
    public const int MaxGroupEntries = 64;

    /// <summary>Longest wrapped key (an ACL token, an owner token or a group member's token).</summary>
    public const int MaxTokenBytes = 512;

    /// <summary>Most generations a group block keeps (each member removal adds one).</summary>
    public const int MaxGenerations = 1024;

    /// <summary>Most members in one group generation.</summary>
    public const int MaxMembers = 1024;
}
