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

    /// <summary>Parses a wire type; exact, case-sensitive match (the type is covered by validation, so no aliases).</summary>
    public static bool TryParse(string? type, out BlockKind kind)
    {
        switch (type)
        {
            case ImmutableType: kind = BlockKind.Immutable; return true;
            case MutableType: kind = BlockKind.Mutable; return true;
            case NamedType: kind = BlockKind.Named; return true;
            default: kind = default; return false;
        }
    }

    /// <summary>Parses a wire type; throws <see cref="FormatException"/> for an unknown one.</summary>
    public static BlockKind Parse(string? type) =>
        TryParse(type, out var kind) ? kind : throw new FormatException($"Unknown block type '{type}' (expected CHB, OKB or NB).");

    /// <summary>The wire type string of <paramref name="kind"/>.</summary>
    public static string ToTypeString(this BlockKind kind) => kind switch
    {
        BlockKind.Immutable => ImmutableType,
        BlockKind.Mutable => MutableType,
        BlockKind.Named => NamedType,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown block kind."),
    };
}
