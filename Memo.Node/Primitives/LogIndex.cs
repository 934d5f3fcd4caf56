namespace Memo.Node;

/// <summary>A position in a Raft log, starting at 1; zero means "before the first entry".</summary>
public readonly record struct LogIndex(ulong Value) : IComparable<LogIndex>
{
    /// <summary>The index before the first entry.</summary>
    public static LogIndex Zero => default;

    /// <summary>The following index.</summary>
    public LogIndex Next() => new(checked(Value + 1));

    /// <summary>The preceding index; throws at zero, which has none.</summary>
    public LogIndex Previous() => Value == 0 ? throw new InvalidOperationException("LogIndex 0 has no predecessor.") : new(Value - 1);

    /// <summary>Moves forward by <paramref name="count"/> entries.</summary>
    public LogIndex Plus(ulong count) => new(checked(Value + count));

    /// <inheritdoc />
    public int CompareTo(LogIndex other) => Value.CompareTo(other.Value);

    /// <summary>Orders indexes.</summary>
    public static bool operator <(LogIndex a, LogIndex b) => a.Value < b.Value;
    /// <summary>Orders indexes.</summary>
    public static bool operator >(LogIndex a, LogIndex b) => a.Value > b.Value;
    /// <summary>Orders indexes.</summary>
    public static bool operator <=(LogIndex a, LogIndex b) => a.Value <= b.Value;
    /// <summary>Orders indexes.</summary>
    public static bool operator >=(LogIndex a, LogIndex b) => a.Value >= b.Value;

    /// <summary>The smaller of two indexes.</summary>
    public static LogIndex Min(LogIndex a, LogIndex b) => a <= b ? a : b;
    /// <summary>The larger of two indexes.</summary>
    public static LogIndex Max(LogIndex a, LogIndex b) => a >= b ? a : b;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
