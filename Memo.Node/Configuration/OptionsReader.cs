using System.Collections.Immutable;

namespace Memo.Node.Configuration;

/// <summary>
/// Reads typed values out of a merged configuration tree, collecting every missing or ill-typed key instead of
/// stopping at the first, so <see cref="MemoOptions.FromConfig"/> can report them together. A failed read
/// returns a placeholder that is never used: the caller throws when <see cref="Problems"/> is not empty.
/// </summary>
internal sealed class OptionsReader(HoconObject root)
{
    public List<string> Problems { get; } = [];

    public int Int32(string path) =>
        Get(path) is { } v ? v.TryGetInt32(out var x) ? x : Bad(path, v, "an integer", 0) : 0;

    public double Double(string path) =>
        Get(path) is { } v ? v.TryGetDouble(out var x) ? x : Bad(path, v, "a decimal number, e.g. 0.8", 0.0) : 0.0;

    public long Bytes(string path) =>
        Get(path) is { } v ? v.TryGetByteSize(out var x) ? x : Bad(path, v, ConfigUnits.SizeHint, 0L) : 0L;

    public TimeSpan Duration(string path) =>
        Get(path) is { } v ? v.TryGetDuration(out var x) ? x : Bad(path, v, ConfigUnits.DurationHint, TimeSpan.Zero) : TimeSpan.Zero;

    public string String(string path) =>
        Get(path) is { } v ? v.TryGetString(out var x) ? x : Bad(path, v, "a string", "") : "";

    public ImmutableArray<string> StringList(string path)
    {
        if (Get(path) is not { } v)
        {
            return [];
        }

        if (!v.TryGetList(out var items))
        {
            return Bad(path, v, "a list of strings, e.g. [\"10.0.0.1:5090\"]", ImmutableArray<string>.Empty);
        }

        var result = ImmutableArray.CreateBuilder<string>(items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].TryGetString(out var s))
            {
                result.Add(s);
            }
            else
            {
                Bad($"{path}[{i}]", items[i], "a string", 0);
            }
        }

        return result.ToImmutable();
    }

    /// <summary>One of a fixed set of words, e.g. <c>full</c> or <c>normal</c>.</summary>
    public T Choice<T>(string path, IReadOnlyDictionary<string, T> choices)
        where T : struct
    {
        if (Get(path) is not { } v)
        {
            return default;
        }

        return v.TryGetString(out var s) && choices.TryGetValue(s, out var choice)
            ? choice
            : Bad(path, v, "one of " + string.Join(", ", choices.Keys), default(T));
    }

    private HoconValue? Get(string path)
    {
        var value = root.Find(path);
        if (value is null)
        {
            Problems.Add($"{path}: missing; every key must be defined (is hocon/memo.conf complete?)");
        }

        return value;
    }

    private T Bad<T>(string path, HoconValue value, string expected, T placeholder)
    {
        Problems.Add($"{path} = {value} ({value.Position}): expected {expected}");
        return placeholder;
    }
}
