using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Memo.Node.Configuration;

/// <summary>
/// Parses one HOCON text (the defaults, a <c>--config</c> file, one override) with Akka's parser
/// (<see cref="ConfigurationFactory.ParseString(string, Func{string, HoconRoot})"/>), turning every way it can fail
/// into a problem that names the source, so that all sources are still parsed and all their problems reported.
/// </summary>
internal static partial class ConfigDocument
{
    /// <summary>The parsed text, or null after adding to <paramref name="problems"/> why it cannot be used;
    /// <paramref name="source"/> names the text in that message, e.g. <c>config file 'my.conf'</c>.</summary>
    public static Config? Parse(string text, string source, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(problems);
        if (AkkaParserGuard.CheckText(text) is { } refused)
        {
            problems.Add($"{source}: {refused}");
            return null;
        }

        try
        {
            return ConfigurationFactory.ParseString(text, NoIncludes);
        }
        catch (Exception e)
        {
            // Akka's parser reports bad input as FormatException, ConfigurationException or plain Exception, and
            // nothing else it throws here can leave state behind: whatever it is, it is a problem of this text.
            problems.Add($"{source}: Akka's HOCON parser reports: {OneLine(e.Message)}");
            return null;
        }
    }

    /// <summary>Reads and parses a file; a missing or unreadable file is a problem like a malformed one.</summary>
    public static Config? ParseFile(string path, string source, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            problems.Add($"{source} not found");
            return null;
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{source} cannot be read: {e.Message}");
            return null;
        }

        return Parse(text, source, problems);
    }

    /// <summary>Without a callback Akka's parser fails on <c>include</c> with a NullReferenceException; memo's
    /// configuration is one file plus overrides, so say so instead.</summary>
    private static HoconRoot NoIncludes(string name) =>
        throw new ConfigurationException($"include \"{name}\" is not supported; pass the settings in the --config file");

    /// <summary>Akka's messages span lines (a caret under the offending text); problems are listed one per line.</summary>
    private static string OneLine(string message) => Whitespace().Replace(message, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
