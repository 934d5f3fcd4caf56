namespace Memo.Node.Configuration;

/// <summary>Where a HOCON value or error sits in its source: the source name (a file path or a label such as
/// <c>--set #2</c>), a 1-based line and a 1-based column.</summary>
public readonly record struct HoconPosition(string Source, int Line, int Column)
{
    /// <summary>Renders as <c>source:line:column</c>, the form compilers use, so editors can jump to it.</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Source}:{Line}:{Column}");
}
