using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Memo.Node.Configuration;

/// <summary>
/// Parses the subset of HOCON (github.com/lightbend/config, HOCON.md) that memo's configuration uses, into an
/// immutable <see cref="HoconObject"/>. Pure: text in, tree out; every error is a <see cref="HoconException"/>
/// carrying <c>source:line:column</c>.
/// </summary>
/// <remarks>
/// Supported: a root with or without braces; nested objects; <c>key = value</c>, <c>key : value</c> and
/// <c>key { ... }</c>; dotted keys <c>a.b.c = 1</c> (quoted segments keep their dots); later definitions override
/// earlier ones and objects merge; fields separated by new lines or commas (a trailing comma is allowed);
/// <c>#</c> and <c>//</c> comments; quoted strings with JSON escapes; unquoted strings, with whitespace-joined
/// concatenation on one line (<c>a = hello world</c>); lists <c>[a, b]</c> across lines.
/// Not supported, with a clear error: <c>include</c>, substitutions <c>${...}</c>, <c>+=</c>, triple-quoted strings,
/// concatenating objects or lists. One deliberate leniency: an unquoted <i>value</i> may contain <c>:</c>, so
/// <c>--set memo.node.listen=10.0.0.1:5090</c> works without quotes; keys still split on <c>:</c>.
/// </remarks>
public static class HoconParser
{
    /// <summary>Deepest nesting of objects and lists accepted; bounds recursion on hostile input.</summary>
    public const int MaxDepth = 64;

    /// <summary>Largest text accepted, in characters; configuration is small, anything larger is a mistake.</summary>
    public const int MaxTextLength = 1 << 20;

    private const string Forbidden = "$\"{}[]:=,+#`^?!@*&\\";

    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> names it in positions and errors.</summary>
    public static HoconObject Parse(string text, string source = "<text>")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        if (text.Length > MaxTextLength)
        {
            throw new HoconException(new HoconPosition(source, 1, 1),
                $"configuration text is longer than {MaxTextLength} characters");
        }

        return new Reader(text, source).ParseRoot();
    }

    /// <summary>Writes <paramref name="text"/> as a double-quoted HOCON string with JSON escapes.</summary>
    public static string Quote(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < ' ')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }

    /// <summary>True when <paramref name="text"/> would not survive as an unquoted HOCON string.</summary>
    internal static bool NeedsQuotes(string text)
    {
        if (text.Length == 0 || text.Contains("//", StringComparison.Ordinal))
        {
            return true;
        }

        foreach (var c in text)
        {
            if (c == '\n' || IsSpace(c) || Forbidden.Contains(c, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsSpace(char c) => c != '\n' && (char.IsWhiteSpace(c) || c == '\uFEFF');

    /// <summary>One parse: the text, a cursor, and the line table for positions.</summary>
    private sealed class Reader
    {
        private readonly string _text;
        private readonly string _source;
        private readonly List<int> _lineStarts = [0];
        private int _pos;

        public Reader(string text, string source)
        {
            _text = text;
            _source = source;
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == '\n')
                {
                    _lineStarts.Add(i + 1);
                }
            }
        }

        private bool AtEnd => _pos >= _text.Length;

        private char Peek(int ahead = 0) => _pos + ahead < _text.Length ? _text[_pos + ahead] : '\0';

        public HoconObject ParseRoot()
        {
            SkipBlank(newlines: true);
            HoconObject root;
            if (!AtEnd && Peek() == '{')
            {
                var open = _pos++;
                root = ParseObjectBody(open, depth: 1);
            }
            else
            {
                root = ParseObjectBody(-1, depth: 1);
            }

            SkipBlank(newlines: true);
            if (!AtEnd)
            {
                throw Error(_pos, $"unexpected {Show(Peek())} after the root object");
            }

            return root;
        }

        /// <summary>Fields up to the matching '}' (when <paramref name="open"/> is the offset of a '{') or the end.</summary>
        private HoconObject ParseObjectBody(int open, int depth)
        {
            var braced = open >= 0;
            var result = HoconObject.Empty;
            while (true)
            {
                SkipBlank(newlines: true);
                if (AtEnd)
                {
                    if (braced)
                    {
                        throw Error(open, "unterminated object: this '{' has no matching '}'");
                    }

                    return result;
                }

                if (Peek() == '}')
                {
                    if (!braced)
                    {
                        throw Error(_pos, "unexpected '}' with no matching '{'");
                    }

                    _pos++;
                    return result;
                }

                result = ParseField(result, depth);
                SkipBlank(newlines: false);
                if (AtEnd || Peek() is '}' or '\n')
                {
                    continue;
                }

                if (Peek() == ',')
                {
                    _pos++;
                    continue;
                }

                throw Error(_pos, $"expected ',' or a new line after a field, found {Show(Peek())}");
            }
        }

        private HoconObject ParseField(HoconObject into, int depth)
        {
            var keyStart = _pos;
            var path = ParseKey();
            SkipBlank(newlines: false);
            if (path is ["include"] && Peek() == '"')
            {
                throw Error(keyStart, "'include' is not supported");
            }

            HoconValue value;
            switch (Peek())
            {
                case '=' or ':':
                    _pos++;
                    SkipBlank(newlines: false);
                    value = ParseValue(depth);
                    break;
                case '{':
                    value = ParseValue(depth);
                    break;
                case '+' when Peek(1) == '=':
                    throw Error(_pos, "'+=' is not supported");
                default:
                    throw Error(_pos, $"expected '=', ':' or '{{' after key '{string.Join('.', path)}', found {Show(Peek())}");
            }

            // Wrap the value in one object per key segment and lay it over what came before: that one rule gives
            // dotted keys their nesting, later definitions their precedence, and objects their merge.
            var position = Position(keyStart);
            for (var i = path.Count - 1; i >= 0; i--)
            {
                value = HoconValue.Object(HoconObject.Create([new(path[i], value)]), position);
            }

            return into.WithOverrides(value.GetObject());
        }

        private List<string> ParseKey()
        {
            var start = _pos;
            var segments = new List<string>();
            var current = new StringBuilder();
            var any = false;
            while (!AtEnd)
            {
                var c = Peek();
                if (c == '"')
                {
                    current.Append(ParseQuoted());
                    any = true;
                }
                else if (c == '.')
                {
                    if (current.Length == 0 && !any)
                    {
                        throw Error(_pos, "empty key segment: a key cannot start with '.' or contain '..'");
                    }

                    segments.Add(current.ToString());
                    current.Clear();
                    any = false;
                    _pos++;
                }
                else if (IsUnquotedAt(inValue: false))
                {
                    current.Append(c);
                    any = true;
                    _pos++;
                }
                else
                {
                    break;
                }
            }

            if (segments.Count == 0 && !any)
            {
                throw Error(start, AtEnd ? "expected a key, found the end of the text" : $"expected a key, found {Show(Peek())}");
            }

            if (!any)
            {
                throw Error(_pos, "empty key segment: a key cannot end with '.'");
            }

            segments.Add(current.ToString());
            return segments;
        }

        private HoconValue ParseValue(int depth)
        {
            var start = _pos;
            if (AtEnd || Peek() == '\n')
            {
                throw Error(_pos, "missing value");
            }

            switch (Peek())
            {
                case '{':
                    CheckDepth(depth);
                    _pos++;
                    return HoconValue.Object(ParseObjectBody(start, depth + 1), Position(start));
                case '[':
                    CheckDepth(depth);
                    return ParseList(depth + 1);
                default:
                    return ParseScalar();
            }
        }

        private HoconValue ParseList(int depth)
        {
            var open = _pos++;
            var items = ImmutableArray.CreateBuilder<HoconValue>();
            while (true)
            {
                SkipBlank(newlines: true);
                if (AtEnd)
                {
                    throw Error(open, "unterminated list: this '[' has no matching ']'");
                }

                if (Peek() == ']')
                {
                    _pos++;
                    return HoconValue.List(items.ToImmutable(), Position(open));
                }

                items.Add(ParseValue(depth));
                SkipBlank(newlines: false);
                if (AtEnd || Peek() is ']' or '\n')
                {
                    continue;
                }

                if (Peek() == ',')
                {
                    _pos++;
                    continue;
                }

                throw Error(_pos, $"expected ',' or ']' in a list, found {Show(Peek())}");
            }
        }

        /// <summary>Quoted and unquoted pieces up to the end of the line or a separator, joined with the
        /// whitespace between them (HOCON value concatenation); whitespace at either end is dropped.</summary>
        private HoconValue ParseScalar()
        {
            var start = _pos;
            var sb = new StringBuilder();
            var pendingSpace = new StringBuilder();
            var any = false;
            var quoted = false;
            while (!AtEnd)
            {
                var c = Peek();
                if (c is '\n' or ',' or '}' or ']' or '#' || (c == '/' && Peek(1) == '/'))
                {
                    break;
                }

                if (IsSpace(c))
                {
                    pendingSpace.Append(c);
                    _pos++;
                    continue;
                }

                if (c == '$' && Peek(1) == '{')
                {
                    throw Error(_pos, "substitutions (${...}) are not supported");
                }

                if (c is '{' or '[')
                {
                    throw Error(_pos, $"cannot concatenate {(c == '{' ? "an object" : "a list")} with a string");
                }

                if (any)
                {
                    sb.Append(pendingSpace);
                }

                pendingSpace.Clear();
                if (c == '"')
                {
                    sb.Append(ParseQuoted());
                    quoted = true;
                }
                else if (IsUnquotedAt(inValue: true))
                {
                    while (IsUnquotedAt(inValue: true))
                    {
                        sb.Append(Peek());
                        _pos++;
                    }
                }
                else
                {
                    throw Error(_pos, $"unexpected {Show(c)} in a value; quote the value if it should contain it");
                }

                any = true;
            }

            if (!any)
            {
                throw Error(start, AtEnd ? "missing value" : $"missing value before {Show(Peek())}");
            }

            return HoconValue.Scalar(sb.ToString(), quoted, Position(start));
        }

        private string ParseQuoted()
        {
            var open = _pos;
            if (Peek(1) == '"' && Peek(2) == '"')
            {
                throw Error(open, "triple-quoted strings are not supported");
            }

            _pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd || Peek() == '\n')
                {
                    throw Error(open, "unterminated string: this '\"' has no closing '\"' on the same line");
                }

                var c = _text[_pos++];
                if (c == '"')
                {
                    return sb.ToString();
                }

                if (c < ' ' && c != '\t')
                {
                    throw Error(_pos - 1, $"control character U+{(int)c:X4} in a string; write it as an escape");
                }

                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }

                var escape = _pos - 1;
                switch (AtEnd ? '\0' : _text[_pos++])
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (_pos + 4 > _text.Length ||
                            !ushort.TryParse(_text.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                        {
                            throw Error(escape, "invalid \\u escape: expected four hexadecimal digits");
                        }

                        sb.Append((char)code);
                        _pos += 4;
                        break;
                    default:
                        throw Error(escape, $"invalid escape '\\{(escape + 1 < _text.Length ? _text[escape + 1] : ' ')}' in a string");
                }
            }
        }

        /// <summary>Skips whitespace and comments; new lines too when <paramref name="newlines"/> (they separate fields).</summary>
        private void SkipBlank(bool newlines)
        {
            while (!AtEnd)
            {
                var c = Peek();
                if (IsSpace(c) || (newlines && c == '\n'))
                {
                    _pos++;
                }
                else if (c == '#' || (c == '/' && Peek(1) == '/'))
                {
                    while (!AtEnd && Peek() != '\n')
                    {
                        _pos++;
                    }
                }
                else
                {
                    return;
                }
            }
        }

        /// <summary>Whether the character at the cursor continues an unquoted string. Keys stop at '.' (it splits
        /// the path) and ':' (a separator); values keep both (see the leniency in the type's remarks).</summary>
        private bool IsUnquotedAt(bool inValue)
        {
            var c = Peek();
            if (AtEnd || c == '\n' || IsSpace(c) || (c == '/' && Peek(1) == '/'))
            {
                return false;
            }

            return c is '.' or ':' ? inValue : !Forbidden.Contains(c, StringComparison.Ordinal);
        }

        private void CheckDepth(int depth)
        {
            if (depth >= MaxDepth)
            {
                throw Error(_pos, $"objects and lists nest deeper than {MaxDepth} levels");
            }
        }

        private HoconPosition Position(int offset)
        {
            var line = _lineStarts.BinarySearch(offset);
            if (line < 0)
            {
                line = ~line - 1;
            }

            return new HoconPosition(_source, line + 1, offset - _lineStarts[line] + 1);
        }

        private HoconException Error(int offset, string reason) => new(Position(offset), reason);

        private static string Show(char c) => c switch
        {
            '\n' => "a new line",
            '\0' => "the end of the text",
            _ => $"'{c}'",
        };
    }
}
