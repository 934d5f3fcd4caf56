using System.Globalization;

namespace Memo.Protocol.Grpc;

/// <summary>
/// The <c>grpc-timeout</c> header: 1 to 8 ASCII digits followed by a unit, <c>H</c> hours, <c>M</c> minutes,
/// <c>S</c> seconds, <c>m</c> milliseconds, <c>u</c> microseconds, <c>n</c> nanoseconds.
/// </summary>
public static class GrpcTimeout
{
    /// <summary>Most digits a value may have.</summary>
    public const int MaxDigits = 8;

    private const long MaxValue = 99_999_999;

    // Units from finest to coarsest, with their length in nanoseconds; encoding picks the finest that fits.
    private static readonly (char Unit, long Nanoseconds)[] Units =
    [
        ('n', 1),
        ('u', 1_000),
        ('m', 1_000_000),
        ('S', 1_000_000_000),
        ('M', 60_000_000_000),
        ('H', 3_600_000_000_000),
    ];

    /// <summary>
    /// Encodes <paramref name="timeout"/> in the finest unit that fits in 8 digits, rounding up so the server never
    /// sees less time than the client allows. Zero or negative encodes as <c>1n</c> (the value must be positive);
    /// longer than 99,999,999 hours encodes as that maximum.
    /// </summary>
    public static string Encode(TimeSpan timeout)
    {
        long ticks = timeout.Ticks;
        if (ticks <= 0)
        {
            return "1n";
        }
        foreach (var (unit, nanoseconds) in Units)
        {
            long value = CeilingDivide(ticks, nanoseconds);
            if (value <= MaxValue)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{value}{unit}");
            }
        }
        return "99999999H";
    }

    /// <summary>Parses a <c>grpc-timeout</c> value; false when it is not 1–8 digits and a known unit.</summary>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length < 2 || value.Length > MaxDigits + 1)
        {
            return false;
        }
        long number = 0;
        foreach (char c in value[..^1])
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
            number = (number * 10) + (c - '0');
        }
        long ticksPerUnit;
        switch (value[^1])
        {
            case 'H': ticksPerUnit = TimeSpan.TicksPerHour; break;
            case 'M': ticksPerUnit = TimeSpan.TicksPerMinute; break;
            case 'S': ticksPerUnit = TimeSpan.TicksPerSecond; break;
            case 'm': ticksPerUnit = TimeSpan.TicksPerMillisecond; break;
            case 'u':
                timeout = TimeSpan.FromTicks((number + 9) / 10);
                return true;
            case 'n':
                timeout = TimeSpan.FromTicks((number + 99) / 100);
                return true;
            default: return false;
        }
        // 99,999,999 hours is 3.6e17 ticks, well inside a long.
        timeout = TimeSpan.FromTicks(number * ticksPerUnit);
        return true;
    }

    // A tick is 100 ns; returns ceil(ticks * 100 / unitNanoseconds) without overflowing.
    private static long CeilingDivide(long ticks, long unitNanoseconds)
    {
        if (unitNanoseconds == 1)
        {
            return ticks > MaxValue ? long.MaxValue : ticks * 100;
        }
        if (unitNanoseconds % 100 == 0)
        {
            long ticksPerUnit = unitNanoseconds / 100;
            return (ticks / ticksPerUnit) + (ticks % ticksPerUnit == 0 ? 0 : 1);
        }
        // Microseconds: 10 ticks each.
        return (ticks / 10) + (ticks % 10 == 0 ? 0 : 1);
    }
}
