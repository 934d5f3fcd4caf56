namespace Memo.Protocol.Blocks;

/// <summary>Conversions between <see cref="BlockKind"/> and the <c>type</c> strings of memo's block message.</summary>
public static class BlockKinds
{
    /// <summary>Wire type of <see cref="BlockKind.Immutable"/>.</summary>
    public const string ImmutableType = "CHB";

    /// <summary>Wire type of <see cref="BlockKind.Mutable"/>.</summary>
    public const string MutableType = "OKB";

    /// <summary>Wire type of <see cref="BlockKind.Named"/>.</summary>
    public const string NamedType = "NB";

    /// <summary>Wire type of <see cref="BlockKind.Acl"/>.</summary>
    public const string AclType = "ACB";

    /// <summary>Wire type of <see cref="BlockKind.Group"/>.</summary>
    public const string GroupType = "GB";

    /// <summary>
    /// True for the kinds whose blocks have versions and change by update (version = stored + 1): OKB, ACB and GB.
    /// </summary>
    public static bool IsVersioned(this BlockKind kind) => kind is BlockKind.Mutable or BlockKind.Acl or BlockKind.Group;

    /// <summary>Parses a wire type; exact, case-sensitive match (the type is covered by validation, so no aliases).</summary>
    public static bool TryParse(string? type, out BlockKind kind)
    {
        switch (type)
        {
            case ImmutableType: kind = BlockKind.Immutable; return true;
            case MutableType: kind = BlockKind.Mutable; return true;
            case NamedType: kind = BlockKind.Named; return true;
            case AclType: kind = BlockKind.Acl; return true;
            case GroupType: kind = BlockKind.Group; return true;
            default: kind = default; return false;
        }
    }

    /// <summary>Parses a wire type; throws <see cref="FormatException"/> for an unknown one.</summary>
    public static BlockKind Parse(string? type) =>
        TryParse(type, out var kind) ? kind : throw new FormatException($"Unknown block type '{type}' (expected CHB, OKB, NB, ACB or GB).");

    /// <summary>The wire type string of <paramref name="kind"/>.</summary>
    public static string ToTypeString(this BlockKind kind) => kind switch
    {
        BlockKind.Immutable => ImmutableType,
        BlockKind.Mutable => MutableType,
        BlockKind.Named => NamedType,
        BlockKind.Acl => AclType,
        BlockKind.Group => GroupType,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown block kind."),
    };
}
