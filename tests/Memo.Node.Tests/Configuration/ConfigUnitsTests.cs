using FsCheck;
using FsCheck.Fluent;
using Memo.Node.Configuration;

namespace Memo.Node.Tests.Configuration;

public sealed class ConfigUnitsTests
{
    [Theory]
    [InlineData("100ns", 1L)]
    [InlineData("3us", 30L)]
    [InlineData("250ms", 2_500_000L)]
    [InlineData("250 millis", 2_500_000L)]
    [InlineData("1.5s", 15_000_000L)]
    [InlineData("5 seconds", 50_000_000L)]
    [InlineData("10m", 6_000_000_000L)]
    [InlineData("1 minute", 600_000_000L)]
    [InlineData("1h", 36_000_000_000L)]
    [InlineData("2d", 1_728_000_000_000L)]
    [InlineData("0s", 0L)]
    public void Durations_parse_with_short_and_long_unit_names(string text, long ticks)
    {
        Assert.True(ConfigUnits.TryParseDuration(text, out var value));
        Assert.Equal(TimeSpan.FromTicks(ticks), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("ms")]
    [InlineData("-5s")]
    [InlineData("5x")]
    [InlineData("1.2.3s")]
    [InlineData("50ns")]
    [InlineData("99999999999d")]
    [InlineData("5 S")]
    public void Text_that_is_not_a_whole_non_negative_duration_is_rejected(string text) =>
        Assert.False(ConfigUnits.TryParseDuration(text, out _));

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("4096", 4096L)]
    [InlineData("10 bytes", 10L)]
    [InlineData("64KiB", 65_536L)]
    [InlineData("64K", 65_536L)]
    [InlineData("1.5KiB", 1_536L)]
    [InlineData("16MiB", 16_777_216L)]
    [InlineData("1GiB", 1_073_741_824L)]
    [InlineData("2TiB", 2_199_023_255_552L)]
    [InlineData("4MB", 4_000_000L)]
    [InlineData("3kB", 3_000L)]
    public void Sizes_parse_in_binary_and_decimal_units(string text, long bytes)
    {
        Assert.True(ConfigUnits.TryParseByteSize(text, out var value));
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("KiB")]
    [InlineData("5XB")]
    [InlineData("0.5B")]
    [InlineData("9999999TiB")]
    public void Text_that_is_not_a_whole_non_negative_size_is_rejected(string text) =>
        Assert.False(ConfigUnits.TryParseByteSize(text, out _));

    [Fact]
    public void Formatting_picks_the_largest_exact_unit()
    {
        Assert.Equal("10m", ConfigUnits.FormatDuration(TimeSpan.FromSeconds(600)));
        Assert.Equal("1500ms", ConfigUnits.FormatDuration(TimeSpan.FromMilliseconds(1500)));
        Assert.Equal("0s", ConfigUnits.FormatDuration(TimeSpan.Zero));
        Assert.Equal("700ns", ConfigUnits.FormatDuration(TimeSpan.FromTicks(7)));
        Assert.Equal("16MiB", ConfigUnits.FormatByteSize(16L << 20));
        Assert.Equal("4000000", ConfigUnits.FormatByteSize(4_000_000));
        Assert.Equal("0", ConfigUnits.FormatByteSize(0));
    }

    /// <summary>Uniform over 0..long.MaxValue, built from 31 + 31 + 1 random bits.</summary>
    private static readonly Gen<long> AnyNonNegativeLong =
        Gen.Choose(0, int.MaxValue).SelectMany(high => Gen.Choose(0, int.MaxValue).SelectMany(low =>
            Gen.Choose(0, 1).Select(bit => ((long)high << 32) | ((long)low << 1) | (uint)bit)));

    /// <summary>Mixes whole multiples of the units (where formatting picks a large unit) with arbitrary values
    /// up to the type's maximum and the edges.</summary>
    private static Gen<long> NonNegativeLongs(params long[] units) =>
        Gen.OneOf(
            AnyNonNegativeLong,
            Gen.Choose(0, int.MaxValue).Select(i => (long)i),
            Gen.Elements(units).SelectMany(u => AnyNonNegativeLong.Select(n => n % (long.MaxValue / u + 1) * u)),
            Gen.Elements(0L, 1L, long.MaxValue));

    [Fact]
    public void Every_duration_survives_format_then_parse() =>
        Prop.ForAll(
                NonNegativeLongs(TimeSpan.TicksPerDay, TimeSpan.TicksPerHour, TimeSpan.TicksPerMinute,
                    TimeSpan.TicksPerSecond, TimeSpan.TicksPerMillisecond, 10).ToArbitrary(),
                ticks =>
                {
                    var text = ConfigUnits.FormatDuration(TimeSpan.FromTicks(ticks));
                    return ConfigUnits.TryParseDuration(text, out var back) && back.Ticks == ticks;
                })
            .QuickCheckThrowOnFailure();

    [Fact]
    public void Every_size_survives_format_then_parse() =>
        Prop.ForAll(
                NonNegativeLongs(1L << 40, 1L << 30, 1L << 20, 1L << 10, 1000).ToArbitrary(),
                bytes =>
                {
                    var text = ConfigUnits.FormatByteSize(bytes);
                    return ConfigUnits.TryParseByteSize(text, out var back) && back == bytes;
                })
            .QuickCheckThrowOnFailure();
}
