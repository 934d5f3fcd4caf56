using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Memo.Node.Configuration;

/// <summary>
/// Reads typed values out of a merged configuration, collecting every missing or ill-typed key instead of stopping
/// at the first, so <see cref="MemoOptions.FromLayers"/> can report them together. A failed read returns a
/// placeholder that is never used: the caller throws when <see cref="Problems"/> is not empty.
/// </summary>
/// <remarks>
/// Reads the text Akka's parser stored for a value and applies memo's own rules to it (integers in decimal,
/// <see cref="ConfigUnits"/> for durations and sizes), never Akka's typed getters: measured with Akka.NET 1.5.75,
/// <c>GetTimeSpan</c> takes a bare <c>5</c> as 5 ms, throws on <c>10us</c>, <c>GetByteSize</c> throws on
/// <c>1.5MiB</c>, and <c>GetString</c> trims strings and turns <c>"null"</c> into null.
/// </remarks>
/// <param name="config">The merged configuration.</param>
/// <param name="sourceOf">Names the layer a key's value came from (for messages), or null when unknown.</param>
/// <param name="reported">Paths already reported as misshapen; reads at or under them add no problem of their own.</param>
internal sealed class OptionsReader(Config config, Func<string, string?> sourceOf, IReadOnlySet<string> reported)
{
    /// <summary>A reader that names no sources and skips no paths.</summary>
    public OptionsReader(Config config)
        : this(config, _ => null, new HashSet<string>())
    {
    }

    public List<string> Problems { get; } = [];

    public int Int32(string path) =>
        Get(path) is { } v ? TryGetText(v, out var s) && int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var x)
            ? x
            : Bad(path, v, "an integer", 0) : 0;

    public long Bytes(string path) =>
        Get(path) is { } v ? TryGetText(v, out var s) && ConfigUnits.TryParseByteSize(s, out var x)
            ? x
            : Bad(path, v, ConfigUnits.SizeHint, 0L) : 0L;

    public TimeSpan Duration(string path) =>
        Get(path) is { } v ? TryGetText(v, out var s) && ConfigUnits.TryParseDuration(s, out var x)
            ? x
            : Bad(path, v, ConfigUnits.DurationHint, TimeSpan.Zero) : TimeSpan.Zero;

    public string String(string path) =>
        Get(path) is { } v ? TryGetText(v, out var s) ? s : Bad(path, v, "a string", "") : "";

    public ImmutableArray<string> StringList(string path)
    {
        if (Get(path) is not { } v)
        {
            return [];
        }

        if (!TryGetItems(v, out var items))
        {
            return Bad(path, v, "a list of strings, e.g. [\"10.0.0.1:5090\"]", ImmutableArray<string>.Empty);
        }

        var result = ImmutableArray.CreateBuilder<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            if (TryGetText(items[i], out var s))
            {
                result.Add(s);
            }
            else
            {
                Bad(path, items[i], "a string", 0, $"{path}[{i}]");
            }
        }

        return result.ToImmutable();
    }

    private static readonly Dictionary<string, bool> Switch = new(StringComparer.Ordinal) { ["on"] = true, ["off"] = false };

    /// <summary>A switch written <c>on</c> or <c>off</c>.</summary>
    public bool OnOff(string path) => Choice(path, Switch);

    /// <summary>One of a fixed set of words, e.g. <c>full</c> or <c>normal</c>.</summary>
    public T Choice<T>(string path, IReadOnlyDictionary<string, T> choices)
        where T : struct
    {
        if (Get(path) is not { } v)
        {
            return default;
        }

        return TryGetText(v, out var s) && choices.TryGetValue(s, out var choice)
            ? choice
            : Bad(path, v, "one of " + string.Join(", ", choices.Keys), default(T));
    }

    /// <summary>The text of a scalar: its pieces as the parser stored them, joined. False for an object, a list or a
    /// key with no value.</summary>
    /// <remarks>Akka's parser keeps the spaces after the last piece on a line as a piece of their own; they are not
    /// part of the value (HOCON), so a trailing piece of only spaces and tabs is dropped. Nothing is trimmed from the
    /// pieces themselves, so a quoted string keeps its spaces.</remarks>
    internal static bool TryGetText(HoconValue value, out string text)
    {
        text = "";
        var pieces = Significant(value);
        if (pieces.Count == 0)
        {
            return false;
        }

        var sb = new StringBuilder();
        foreach (var piece in pieces)
        {
            switch (piece)
            {
                case HoconLiteral literal:
                    sb.Append(literal.Value);
                    break;
                case HoconSubstitution { ResolvedValue: { } resolved } when TryGetText(resolved, out var substituted):
                    sb.Append(substituted);
                    break;
                default:
                    return false;
            }
        }

        text = sb.ToString();
        return true;
    }

    /// <summary>The items of a list (lists written side by side concatenate, as in HOCON); false for anything else.</summary>
    internal static bool TryGetItems(HoconValue value, out List<HoconValue> items)
    {
        items = [];
        var any = false;
        foreach (var piece in value.Values)
        {
            switch (piece)
            {
                case HoconArray array:
                    items.AddRange(array);
                    any = true;
                    break;
                case HoconLiteral literal when IsBlank(literal.Value):
                    break;
                case HoconSubstitution { ResolvedValue: { } resolved } when TryGetItems(resolved, out var substituted):
                    items.AddRange(substituted);
                    any = true;
                    break;
                default:
                    return false;
            }
        }

        return any;
    }

    /// <summary>The value as it would be written in a file, for messages.</summary>
    internal static string Show(HoconValue value) => Show(value, depth: 0);

    private static string Show(HoconValue value, int depth)
    {
        if (TryGetText(value, out var text))
        {
            return ConfigText.Show(text);
        }

        if (depth > 3)
        {
            return "...";
        }

        if (TryGetItems(value, out var items))
        {
            return "[" + string.Join(", ", items.Select(i => Show(i, depth + 1))) + "]";
        }

        if (value.GetObject() is { } obj)
        {
            return obj.Items.Count == 0
                ? "{}"
                : "{ " + string.Join(", ", obj.Items.Select(f => f.Key + " = " + Show(f.Value, depth + 1))) + " }";
        }

        return "(no value)";
    }

    private static List<IHoconElement> Significant(HoconValue value)
    {
        var pieces = value.Values;
        var count = pieces.Count;
        if (count > 1 && pieces[count - 1] is HoconLiteral last && IsBlank(last.Value))
        {
            count--;
        }

        return pieces.GetRange(0, count);
    }

    private static bool IsBlank(string text) => text.All(c => c is ' ' or '\t');

    private HoconValue? Get(string path)
    {
        if (IsReported(path))
        {
            return null;
        }

        var value = config.GetValue(path);
        if (value is null)
        {
            Problems.Add($"{path}: missing; every key must be defined (is hocon/memo.conf complete?)");
        }

        return value;
    }

    private bool IsReported(string path)
    {
        foreach (var prefix in reported)
        {
            if (path == prefix || path.StartsWith(prefix + ".", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private T Bad<T>(string path, HoconValue value, string expected, T placeholder, string? shownPath = null)
    {
        var source = sourceOf(path) is { } s ? $" ({s})" : "";
        Problems.Add($"{shownPath ?? path} = {Show(value)}{source}: expected {expected}");
        return placeholder;
    }
}
