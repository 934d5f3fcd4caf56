using System.Globalization;
using System.Text;

namespace Memo.Node.Configuration;

/// <summary>
/// Writes strings as HOCON text for Akka's parser: <see cref="Quote"/> for text the node builds (command-line options
/// become <c>key = "value"</c> overrides), <see cref="Show"/> for values in messages.
/// </summary>
/// <remarks>
/// Inside double quotes Akka's tokenizer treats every character as text (<c>$ { [ : = , #</c> included) and decodes
/// exactly the JSON escapes <c>\" \\ \/ \b \f \n \r \t \uXXXX</c>; so quoting with those escapes cannot inject syntax
/// and reads back to the same string. Akka's own <c>GetString</c> trims the result and turns <c>"null"</c> into null;
/// <see cref="OptionsReader"/> reads the parsed literal instead, which keeps the string exact.
/// </remarks>
public static class ConfigText
{
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

    /// <summary>The text as a user would write it in a file: bare when it is a plain word, number, duration, size or
    /// path (<c>fast</c>, <c>16MiB</c>, <c>./data</c>), quoted otherwise.</summary>
    public static string Show(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length > 0 && !text.Contains("//", StringComparison.Ordinal) &&
               text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '/' or '+')
            ? text
            : Quote(text);
    }
}
