namespace Memo.Node.Configuration;

/// <summary>
/// A HOCON text that does not parse, or a value read with the wrong type. The only exception the parser and
/// the typed getters throw; the message starts with the <see cref="Position"/> so a user can find the spot.
/// </summary>
public sealed class HoconException : Exception
{
    /// <summary>Creates the exception for a problem at <paramref name="position"/>.</summary>
    public HoconException(HoconPosition position, string reason)
        : base($"{position}: {reason}")
    {
        Position = position;
        Reason = reason;
    }

    /// <summary>Where the problem is.</summary>
    public HoconPosition Position { get; }

    /// <summary>The problem without the position, e.g. <c>unterminated string</c>.</summary>
    public string Reason { get; }
}
