using Memo.Cli.Input;

namespace Memo.Node.Tests.Cli;

public class DurationTests
{
    [Theory]
    [InlineData("500us", 0.5)]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("10S", 10_000)]
    [InlineData("1.5m", 90_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData(" 3 ", 3_000)]
    [InlineData("0", 0)]
    public void Durations_parse_with_units(string text, double milliseconds)
    {
        Assert.True(Duration.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ms")]
    [InlineData("-3s")]
    [InlineData("1d")]
    [InlineData("NaN")]
    [InlineData("1e300s")]
    public void Garbage_is_not_a_duration(string text)
    {
        Assert.False(Duration.TryParse(text, out _));
    }

    [Theory]
    [InlineData(250, "250ms")]
    [InlineData(30_000, "30s")]
    [InlineData(90_000, "1.5m")]
    [InlineData(7_200_000, "2h")]
    public void Durations_format_in_their_largest_unit(int milliseconds, string text)
    {
        Assert.Equal(text, Duration.Format(TimeSpan.FromMilliseconds(milliseconds)));
    }
}
