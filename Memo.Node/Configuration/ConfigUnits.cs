using System.Globalization;

namespace Memo.Node.Configuration;

/// <summary>
/// Durations and byte sizes as written in configuration: <c>250ms</c>, <c>5s</c>, <c>10m</c>, <c>1h</c>, <c>2d</c>;
/// <c>4096</c>, <c>64KiB</c>, <c>16MiB</c>, <c>4MB</c>. Pure functions; <c>Format</c> is the inverse of <c>TryParse</c>.
/// </summary>
/// <remarks>
/// Memo reads every duration and size of a <c>memo.*</c> key through these rules, never through Akka's
/// <c>Config.GetTimeSpan</c>/<c>GetByteSize</c>. Measured with Akka.NET 1.5.75: <c>GetTimeSpan</c> reads a bare
/// <c>5</c> as 5 ms without a word, throws on <c>10us</c>, and <c>GetByteSize</c> throws on <c>1.5MiB</c>.
/// Here a duration needs a unit: a bare <c>10</c> for a grace period is far more likely to mean seconds than
/// milliseconds, so we refuse to guess. Sizes: powers of 1000 for <c>kB</c>/<c>MB</c>/..., powers of 1024 for
/// <c>K</c>/<c>KiB</c>/<c>Mi</c>/...; a bare number is bytes. Fractions (<c>1.5s</c>, <c>1.5MiB</c>) are allowed
/// when they come to a whole number of ticks (100 ns) or bytes. Negative values are refused.
/// </remarks>
public static class ConfigUnits
{
    private const long TicksPerMicrosecond = 10;

    private static readonly (string[] Names, decimal Ticks)[] DurationUnits =
    [
        (["ns", "nano", "nanos", "nanosecond", "nanoseconds"], 0.01m),
        (["us", "micro", "micros", "microsecond", "microseconds"], TicksPerMicrosecond),
        (["ms", "milli", "millis", "millisecond", "milliseconds"], TimeSpan.TicksPerMillisecond),
        (["s", "second", "seconds"], TimeSpan.TicksPerSecond),
        (["m", "minute", "minutes"], TimeSpan.TicksPerMinute),
        (["h", "hour", "hours"], TimeSpan.TicksPerHour),
        (["d", "day", "days"], TimeSpan.TicksPerDay),
    ];

    private static readonly (string Suffix, long Ticks)[] DurationFormats =
    [
        ("d", TimeSpan.TicksPerDay),
        ("h", TimeSpan.TicksPerHour),
        ("m", TimeSpan.TicksPerMinute),
        ("s", TimeSpan.TicksPerSecond),
        ("ms", TimeSpan.TicksPerMillisecond),
        ("us", TicksPerMicrosecond),
    ];

    private static readonly (string[] Names, decimal Bytes)[] SizeUnits =
    [
        (["", "B", "b", "byte", "bytes"], 1m),
        (["kB", "KB", "kilobyte", "kilobytes"], 1_000m),
        (["MB", "megabyte", "megabytes"], 1_000_000m),
        (["GB", "gigabyte", "gigabytes"], 1_000_000_000m),
        (["TB", "terabyte", "terabytes"], 1_000_000_000_000m),
        (["K", "k", "Ki", "KiB", "kibibyte", "kibibytes"], 1L << 10),
        (["M", "m", "Mi", "MiB", "mebibyte", "mebibytes"], 1L << 20),
        (["G", "g", "Gi", "GiB", "gibibyte", "gibibytes"], 1L << 30),
        (["T", "t", "Ti", "TiB", "tebibyte", "tebibytes"], 1L << 40),
    ];

    private static readonly (string Suffix, long Bytes)[] SizeFormats =
    [
        ("TiB", 1L << 40),
        ("GiB", 1L << 30),
        ("MiB", 1L << 20),
        ("KiB", 1L << 10),
    ];

    /// <summary>What a duration looks like, for error messages.</summary>
    public const string DurationHint = "a duration with a unit, e.g. 250ms, 5s, 10m, 1h, 2d";

    /// <summary>What a size looks like, for error messages.</summary>
    public const string SizeHint = "a size in bytes, e.g. 4096, 64KiB, 16MiB, 1GiB, 4MB";

    /// <summary>Parses a non-negative duration such as <c>250ms</c>; false when the text is not one.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = default;
        if (!TrySplit(text, out var number, out var unit))
        {
            return false;
        }

        foreach (var (names, ticksPerUnit) in DurationUnits)
        {
            if (Array.IndexOf(names, unit) >= 0)
            {
                if (!TryScale(number, ticksPerUnit, out var ticks))
                {
                    return false;
                }

                value = TimeSpan.FromTicks(ticks);
                return true;
            }
        }

        return false;
    }

    /// <summary>Parses a non-negative byte size such as <c>16MiB</c> or <c>4096</c>; false when the text is not one.</summary>
    public static bool TryParseByteSize(string text, out long value)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = 0;
        if (!TrySplit(text, out var number, out var unit))
        {
            return false;
        }

        foreach (var (names, bytesPerUnit) in SizeUnits)
        {
            if (Array.IndexOf(names, unit) >= 0)
            {
                return TryScale(number, bytesPerUnit, out value);
            }
        }

        return false;
    }

    /// <summary>Writes <paramref name="value"/> in the largest unit that represents it exactly (<c>10m</c>, not
    /// <c>600s</c>); <see cref="TryParseDuration"/> reads it back to the same value.</summary>
    public static string FormatDuration(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        var ticks = value.Ticks;
        if (ticks == 0)
        {
            return "0s";
        }

        foreach (var (suffix, unitTicks) in DurationFormats)
        {
            if (ticks % unitTicks == 0)
            {
                return (ticks / unitTicks).ToString(CultureInfo.InvariantCulture) + suffix;
            }
        }

        // A tick is 100 ns; decimal keeps ticks * 100 exact beyond the range of long.
        return (ticks * 100m).ToString(CultureInfo.InvariantCulture) + "ns";
    }

    /// <summary>Writes <paramref name="bytes"/> in the largest binary unit that represents it exactly (<c>16MiB</c>),
    /// or as plain bytes; <see cref="TryParseByteSize"/> reads it back to the same value.</summary>
    public static string FormatByteSize(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes != 0)
        {
            foreach (var (suffix, unitBytes) in SizeFormats)
            {
                if (bytes % unitBytes == 0)
                {
                    return (bytes / unitBytes).ToString(CultureInfo.InvariantCulture) + suffix;
                }
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Splits <c>12.5 ms</c> into the number and the unit; false when there is no unsigned number first.</summary>
    private static bool TrySplit(string text, out decimal number, out string unit)
    {
        number = 0;
        unit = "";
        var span = text.AsSpan().Trim();
        var end = 0;
        var digits = 0;
        var dots = 0;
        while (end < span.Length && (char.IsAsciiDigit(span[end]) || span[end] == '.'))
        {
            if (span[end] == '.')
            {
                dots++;
            }
            else
            {
                digits++;
            }

            end++;
        }

        if (digits == 0 || dots > 1 ||
            !decimal.TryParse(span[..end], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number))
        {
            return false;
        }

        unit = span[end..].TrimStart().ToString();
        return true;
    }

    /// <summary>number * perUnit as a whole, non-negative long; false on fractions of the base unit or overflow.</summary>
    private static bool TryScale(decimal number, decimal perUnit, out long result)
    {
        result = 0;
        decimal product;
        try
        {
            product = number * perUnit;
        }
        catch (OverflowException)
        {
            // decimal arithmetic has no TryMultiply; an overflow here is simply "too large".
            return false;
        }

        if (product != decimal.Truncate(product) || product > long.MaxValue)
        {
            return false;
        }

        result = (long)product;
        return true;
    }
}
