namespace Memo.Node;

/// <summary>A Raft term: a logical epoch in which at most one leader is elected (Raft §5.1). Zero is "no term yet".</summary>
public readonly record struct Term(ulong Value) : IComparable<Term>
{
    /// <summary>The term before any election.</summary>
    public static Term Zero => default;

    /// <summary>The term that follows this one.</summary>
    public Term Next() => new(checked(Value + 1));

    /// <inheritdoc />
    public int CompareTo(Term other) => Value.CompareTo(other.Value);

    /// <summary>Orders terms.</summary>
    public static bool operator <(Term a, Term b) => a.Value < b.Value;
    /// <summary>Orders terms.</summary>
    public static bool operator >(Term a, Term b) => a.Value > b.Value;
    /// <summary>Orders terms.</summary>
    public static bool operator <=(Term a, Term b) => a.Value <= b.Value;
    /// <summary>Orders terms.</summary>
    public static bool operator >=(Term a, Term b) => a.Value >= b.Value;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
