using System.Collections.Immutable;
using System.Text;

namespace Memo.Node.Configuration;

/// <summary>
/// An immutable HOCON object: fields in definition order. Layers of configuration combine with
/// <see cref="WithOverrides"/>: objects merge key by key, anything else is replaced by the later layer.
/// </summary>
public sealed class HoconObject
{
    private readonly ImmutableDictionary<string, HoconValue> _fields;

    private HoconObject(ImmutableArray<string> keys, ImmutableDictionary<string, HoconValue> fields)
    {
        Keys = keys;
        _fields = fields;
    }

    /// <summary>The object with no fields.</summary>
    public static HoconObject Empty { get; } =
        new([], ImmutableDictionary<string, HoconValue>.Empty.WithComparers(StringComparer.Ordinal));

    /// <summary>Field names in the order they were first defined.</summary>
    public ImmutableArray<string> Keys { get; }

    /// <summary>Number of fields.</summary>
    public int Count => Keys.Length;

    /// <summary>Builds an object from fields in order; a repeated key keeps its first position and its last value.</summary>
    public static HoconObject Create(IEnumerable<KeyValuePair<string, HoconValue>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var keys = ImmutableArray.CreateBuilder<string>();
        var map = ImmutableDictionary.CreateBuilder<string, HoconValue>(StringComparer.Ordinal);
        foreach (var (key, value) in fields)
        {
            if (!map.ContainsKey(key))
            {
                keys.Add(key);
            }

            map[key] = value;
        }

        return new HoconObject(keys.ToImmutable(), map.ToImmutable());
    }

    /// <summary>The direct field named <paramref name="key"/> (no path splitting).</summary>
    public bool TryGetField(string key, out HoconValue value) => _fields.TryGetValue(key, out value!);

    /// <summary>The value at a dotted path such as <c>memo.shards.count</c>, or null when any step is missing
    /// or is not an object. Path segments cannot contain dots; use <see cref="Find(IReadOnlyList{string})"/>.</summary>
    public HoconValue? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Find(path.Split('.'));
    }

    /// <summary>The value at a path given as segments, or null when any step is missing or is not an object.</summary>
    public HoconValue? Find(IReadOnlyList<string> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var current = this;
        for (var i = 0; i < segments.Count; i++)
        {
            if (!current._fields.TryGetValue(segments[i], out var value))
            {
                return null;
            }

            if (i == segments.Count - 1)
            {
                return value;
            }

            if (!value.TryGetObject(out current))
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>This object with <paramref name="overrides"/> laid on top: where both hold an object under the
    /// same key the two merge recursively; otherwise the override's value wins. New keys are appended.</summary>
    public HoconObject WithOverrides(HoconObject overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        if (overrides.Count == 0)
        {
            return this;
        }

        var keys = Keys.ToBuilder();
        var map = _fields.ToBuilder();
        foreach (var key in overrides.Keys)
        {
            var over = overrides._fields[key];
            if (map.TryGetValue(key, out var under))
            {
                if (under.TryGetObject(out var underObject) && over.TryGetObject(out var overObject))
                {
                    over = HoconValue.Object(underObject.WithOverrides(overObject), over.Position);
                }
            }
            else
            {
                keys.Add(key);
            }

            map[key] = over;
        }

        return new HoconObject(keys.ToImmutable(), map.ToImmutable());
    }

    /// <summary>Renders the object as one line of HOCON, for messages and dumps.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Render(sb);
        return sb.ToString();
    }

    internal void Render(StringBuilder sb)
    {
        sb.Append('{');
        for (var i = 0; i < Keys.Length; i++)
        {
            sb.Append(i == 0 ? " " : ", ");
            var key = Keys[i];
            sb.Append(HoconParser.NeedsQuotes(key) || key.Contains('.', StringComparison.Ordinal) ? HoconParser.Quote(key) : key);
            sb.Append(" = ");
            _fields[key].Render(sb);
        }

        sb.Append(Keys.Length == 0 ? "}" : " }");
    }
}
