using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Memo.Node.Configuration;

/// <summary>
/// One immutable node of a parsed HOCON tree: a scalar, a list or an object, with the position it was defined
/// at. Scalars keep their text; the typed getters decide what it means, as HOCON does (<c>"42"</c> and <c>42</c>
/// both read as the number 42). <c>TryGet*</c> report a mismatch as <c>false</c>; <c>Get*</c> throw a
/// <see cref="HoconException"/> that names the position.
/// </summary>
public sealed class HoconValue
{
    private readonly string? _text;
    private readonly ImmutableArray<HoconValue> _items;
    private readonly HoconObject? _object;

    private HoconValue(HoconValueKind kind, HoconPosition position, string? text, bool quoted,
        ImmutableArray<HoconValue> items, HoconObject? obj)
    {
        Kind = kind;
        Position = position;
        _text = text;
        IsQuoted = quoted;
        _items = items;
        _object = obj;
    }

    /// <summary>Whether this is a scalar, a list or an object.</summary>
    public HoconValueKind Kind { get; }

    /// <summary>Where the value starts in its source.</summary>
    public HoconPosition Position { get; }

    /// <summary>True for a scalar written (at least partly) in double quotes.</summary>
    public bool IsQuoted { get; }

    /// <summary>Creates a scalar.</summary>
    public static HoconValue Scalar(string text, bool quoted, HoconPosition position)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new HoconValue(HoconValueKind.Scalar, position, text, quoted, default, null);
    }

    /// <summary>Creates a list.</summary>
    public static HoconValue List(ImmutableArray<HoconValue> items, HoconPosition position) =>
        new(HoconValueKind.List, position, null, false, items.IsDefault ? [] : items, null);

    /// <summary>Creates an object value.</summary>
    public static HoconValue Object(HoconObject obj, HoconPosition position)
    {
        ArgumentNullException.ThrowIfNull(obj);
        return new HoconValue(HoconValueKind.Object, position, null, false, default, obj);
    }

    /// <summary>The scalar's text.</summary>
    public bool TryGetString(out string value)
    {
        value = _text ?? "";
        return Kind == HoconValueKind.Scalar;
    }

    /// <summary>A 32-bit integer written in decimal, e.g. <c>1024</c> or <c>-1</c>.</summary>
    public bool TryGetInt32(out int value)
    {
        value = 0;
        return Kind == HoconValueKind.Scalar &&
               int.TryParse(_text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A 64-bit integer written in decimal.</summary>
    public bool TryGetInt64(out long value)
    {
        value = 0;
        return Kind == HoconValueKind.Scalar &&
               long.TryParse(_text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A finite decimal number, e.g. <c>0.8</c>, <c>8</c> or <c>-1.5e3</c>.</summary>
    public bool TryGetDouble(out double value)
    {
        value = 0;
        return Kind == HoconValueKind.Scalar &&
               double.TryParse(_text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    /// <summary>A boolean: <c>true/false</c>, <c>on/off</c> or <c>yes/no</c>.</summary>
    public bool TryGetBoolean(out bool value)
    {
        value = false;
        switch (Kind == HoconValueKind.Scalar ? _text : null)
        {
            case "true" or "on" or "yes":
                value = true;
                return true;
            case "false" or "off" or "no":
                return true;
            default:
                return false;
        }
    }

    /// <summary>A duration with a unit; see <see cref="ConfigUnits.TryParseDuration"/>.</summary>
    public bool TryGetDuration(out TimeSpan value)
    {
        value = default;
        return Kind == HoconValueKind.Scalar && ConfigUnits.TryParseDuration(_text!, out value);
    }

    /// <summary>A byte size; see <see cref="ConfigUnits.TryParseByteSize"/>.</summary>
    public bool TryGetByteSize(out long value)
    {
        value = 0;
        return Kind == HoconValueKind.Scalar && ConfigUnits.TryParseByteSize(_text!, out value);
    }

    /// <summary>The items of a list.</summary>
    public bool TryGetList(out ImmutableArray<HoconValue> items)
    {
        items = Kind == HoconValueKind.List ? _items : [];
        return Kind == HoconValueKind.List;
    }

    /// <summary>The fields of an object.</summary>
    public bool TryGetObject(out HoconObject obj)
    {
        obj = _object ?? HoconObject.Empty;
        return Kind == HoconValueKind.Object;
    }

    /// <summary>The scalar's text; throws when this is a list or an object.</summary>
    public string GetString() => TryGetString(out var v) ? v : throw Mismatch("a string");

    /// <summary>The value as a 32-bit integer; throws when it is not one.</summary>
    public int GetInt32() => TryGetInt32(out var v) ? v : throw Mismatch("a 32-bit integer");

    /// <summary>The value as a 64-bit integer; throws when it is not one.</summary>
    public long GetInt64() => TryGetInt64(out var v) ? v : throw Mismatch("a 64-bit integer");

    /// <summary>The value as a boolean; throws when it is not one.</summary>
    public bool GetBoolean() => TryGetBoolean(out var v) ? v : throw Mismatch("a boolean (true/false, on/off, yes/no)");

    /// <summary>The value as a duration; throws when it is not one.</summary>
    public TimeSpan GetDuration() => TryGetDuration(out var v) ? v : throw Mismatch(ConfigUnits.DurationHint);

    /// <summary>The value as a byte size; throws when it is not one.</summary>
    public long GetByteSize() => TryGetByteSize(out var v) ? v : throw Mismatch(ConfigUnits.SizeHint);

    /// <summary>The items of a list; throws when this is not a list.</summary>
    public ImmutableArray<HoconValue> GetList() => TryGetList(out var v) ? v : throw Mismatch("a list");

    /// <summary>The fields of an object; throws when this is not an object.</summary>
    public HoconObject GetObject() => TryGetObject(out var v) ? v : throw Mismatch("an object");

    /// <summary>Renders the value as HOCON (scalars quoted when needed), for messages and dumps.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Render(sb);
        return sb.ToString();
    }

    internal void Render(StringBuilder sb)
    {
        switch (Kind)
        {
            case HoconValueKind.Scalar:
                sb.Append(IsQuoted || HoconParser.NeedsQuotes(_text!) ? HoconParser.Quote(_text!) : _text);
                break;
            case HoconValueKind.List:
                sb.Append('[');
                for (var i = 0; i < _items.Length; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    _items[i].Render(sb);
                }

                sb.Append(']');
                break;
            default:
                _object!.Render(sb);
                break;
        }
    }

    private HoconException Mismatch(string expected) =>
        new(Position, $"expected {expected}, found {Describe()}");

    private string Describe() => Kind switch
    {
        HoconValueKind.Scalar => HoconParser.Quote(_text!),
        HoconValueKind.List => "a list",
        _ => "an object",
    };
}
