namespace Memo.Node.Configuration;

/// <summary>The three shapes a HOCON value takes in the subset we parse. Numbers, booleans, durations and sizes
/// are all scalars; their type is decided by the getter that reads them, as in HOCON.</summary>
public enum HoconValueKind
{
    /// <summary>A quoted or unquoted string (including numbers, booleans, durations, sizes).</summary>
    Scalar = 0,

    /// <summary>A list <c>[a, b]</c>.</summary>
    List = 1,

    /// <summary>An object <c>{ key = value }</c>.</summary>
    Object = 2,
}
