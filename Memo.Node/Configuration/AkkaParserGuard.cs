using System.Globalization;

namespace Memo.Node.Configuration;

/// <summary>
/// Refuses, before Akka's HOCON parser (Akka.NET 1.5.75) sees it, text on which that parser hangs, kills the process
/// or silently reads something other than what was written, so that a typo in a configuration file becomes a
/// reported problem. A scan for those shapes, not a parser: it follows quotes, comments and brackets, nothing more.
/// </summary>
/// <remarks>
/// Measured, each with a one-line input:
/// <list type="bullet">
/// <item><c>a = [1 }</c>, <c>a = [x = 1]</c>: inside a list, a character that neither starts a value nor ends the
/// list (<c>}</c>, <c>=</c>, <c>:</c>, <c>?</c>, ...) makes the parser loop forever, allocating about 100 MB/s.</item>
/// <item><c>a = ${a}</c>: a substitution that reaches itself overflows the stack, which kills the process (a .NET
/// stack overflow cannot be caught); depending on the order of substitutions already while parsing. And
/// <c>${?name}</c> is read as a substitution of the whole document. Memo refuses substitutions altogether (so did
/// its earlier parser): Akka also resolves them within one text, before the later layers apply.</item>
/// <item><c>a = [1, 2</c>, <c>a { b = 1</c>, <c>a = "x</c>: a text that ends inside a list, an object or a string
/// parses, so a truncated file would load; a stray <c>}</c> ends the parse and the rest is dropped silently.</item>
/// <item>Lists or objects nested 100,000 deep overflow the stack of its recursive descent.</item>
/// </list>
/// </remarks>
internal static class AkkaParserGuard
{
    /// <summary>Deepest nesting of objects and lists accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>Largest text accepted, in characters; configuration is small, anything larger is a mistake.</summary>
    public const int MaxTextLength = 1 << 20;

    // Characters Akka's tokenizer refuses in unquoted text (HoconTokenizer.NotInUnquotedText) that neither start nor
    // separate list items: inside a list it makes no progress on them.
    private const string StuckInList = "$:=`^?!@*&\\";

    /// <summary>Why Akka's parser must not see <paramref name="text"/>, or null when it may.</summary>
    public static string? CheckText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTextLength)
        {
            return $"longer than {MaxTextLength} characters";
        }

        var open = new Stack<(char Bracket, int Line)>();
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    break;
                case '"':
                    var opened = line;
                    i = SkipQuoted(text, i, ref line);
                    if (i >= text.Length)
                    {
                        return At(opened, "unterminated string (Akka's parser would take the rest of the text into it)");
                    }

                    break;
                case '#':
                case '/' when At(text, i + 1) == '/':
                    while (i + 1 < text.Length && text[i + 1] != '\n')
                    {
                        i++;
                    }

                    break;
                case '$' when At(text, i + 1) == '{':
                    return At(line, "substitutions (${...}) are not supported: Akka resolves them within one text, " +
                                    "before later layers apply, and one that reaches itself overflows the stack");
                case '[' or '{':
                    if (open.Count >= MaxDepth)
                    {
                        return At(line, $"objects and lists nest deeper than {MaxDepth} levels");
                    }

                    open.Push((c, line));
                    break;
                case ']' or '}':
                    // Akka's parser ignores a stray ']' and stops reading at a stray '}', dropping the rest silently;
                    // a '}' inside a list makes it loop.
                    var expected = c == ']' ? '[' : '{';
                    if (!open.TryPeek(out var top) || top.Bracket != expected)
                    {
                        return At(line, $"'{c}' without a matching '{expected}'");
                    }

                    open.Pop();
                    break;
                default:
                    // Inside a list (not inside an object within it), Akka's parser makes no progress on these.
                    if (open.TryPeek(out var inner) && inner.Bracket == '[' && StuckInList.Contains(c, StringComparison.Ordinal))
                    {
                        return At(line, $"'{c}' inside a list; quote the item if it should contain it " +
                                        "(Akka's parser would loop forever on it)");
                    }

                    break;
            }
        }

        // Akka's parser accepts a text that ends inside an object or a list, so a truncated file would load.
        return open.TryPeek(out var unclosed)
            ? At(unclosed.Line, $"this '{unclosed.Bracket}' is never closed")
            : null;
    }

    /// <summary>The index of the last quote of the string opening at <paramref name="i"/>, or the length of the text
    /// when the string is never closed; counts the lines it spans.</summary>
    private static int SkipQuoted(string text, int i, ref int line)
    {
        if (string.CompareOrdinal(text, i, "\"\"\"", 0, 3) == 0)
        {
            var close = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
            if (close < 0)
            {
                return text.Length;
            }

            line += text.AsSpan(i, close - i).Count('\n');
            return close + 2;
        }

        for (var j = i + 1; j < text.Length; j++)
        {
            switch (text[j])
            {
                case '\\':
                    j++;
                    break;
                case '"':
                    return j;
                case '\n':
                    line++;
                    break;
            }
        }

        return text.Length;
    }

    private static char At(string text, int i) => i < text.Length ? text[i] : '\0';

    private static string At(int line, string reason) =>
        string.Create(CultureInfo.InvariantCulture, $"line {line}: {reason}");
}
