using System.Globalization;

namespace Memo.Cli.Input;

/// <summary>Parses durations as written on a command line: <c>500ms</c>, <c>30s</c>, <c>1.5m</c>, <c>2h</c>, or <c>hh:mm:ss</c>.</summary>
internal static class Duration
{
    /// <summary>Parses a duration; a bare number is seconds. Negative durations are rejected.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var s = text.Trim();
        if (s.Contains(':'))
        {
            return TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
        }
        // Longest suffix first so "ms" is not read as "s".
        (string Suffix, double Seconds)[] units = [("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)];
        double scale = 1;
        foreach (var (suffix, seconds) in units)
        {
            if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                s = s[..^suffix.Length];
                scale = seconds;
                break;
            }
        }
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            || double.IsNaN(value) || double.IsInfinity(value) || value < 0)
        {
            return false;
        }
        var totalSeconds = value * scale;
        if (totalSeconds > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }
        duration = TimeSpan.FromTicks((long)Math.Round(totalSeconds * TimeSpan.TicksPerSecond));
        return true;
    }

    /// <summary>The short form used in output: <c>250ms</c>, <c>10s</c>, <c>1.5m</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.FromSeconds(1))
        {
            return duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
        }
        if (duration < TimeSpan.FromMinutes(1))
        {
            return duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        }
        if (duration < TimeSpan.FromHours(1))
        {
            return duration.TotalMinutes.ToString("0.###", CultureInfo.InvariantCulture) + "m";
        }
        return duration.TotalHours.ToString("0.###", CultureInfo.InvariantCulture) + "h";
    }
}
