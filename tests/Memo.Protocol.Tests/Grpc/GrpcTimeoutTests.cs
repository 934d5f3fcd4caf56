using Memo.Protocol.Grpc;
using Xunit.Abstractions;

namespace Memo.Protocol.Tests.Grpc;

public sealed class GrpcTimeoutTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("1H", TimeSpan.TicksPerHour)]
    [InlineData("2M", 2 * TimeSpan.TicksPerMinute)]
    [InlineData("3S", 3 * TimeSpan.TicksPerSecond)]
    [InlineData("250m", 250 * TimeSpan.TicksPerMillisecond)]
    [InlineData("1500u", 15_000L)]
    [InlineData("100n", 1L)]
    [InlineData("99999999S", 99_999_999L * 10_000_000L)]
    public void Parses_every_unit(string text, long expectedTicks)
    {
        Assert.True(GrpcTimeout.TryParse(text, out var timeout));
        Assert.Equal(expectedTicks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData(" 1S")]
    [InlineData("123456789S")]
    public void Rejects_malformed_values_and_more_than_eight_digits(string text)
    {
        Assert.False(GrpcTimeout.TryParse(text, out _));
    }

    [Theory]
    [InlineData(50L * TimeSpan.TicksPerMillisecond, "50000000n")]
    [InlineData(TimeSpan.TicksPerSecond, "1000000u")]
    [InlineData(100 * TimeSpan.TicksPerSecond, "100000m")]
    [InlineData(3 * TimeSpan.TicksPerHour, "10800000m")]
    [InlineData(2 * TimeSpan.TicksPerDay, "172800S")]
    [InlineData(2000 * TimeSpan.TicksPerDay, "2880000M")]
    [InlineData(200_000 * TimeSpan.TicksPerDay, "4800000H")]
    public void Encodes_in_the_finest_unit_that_fits_in_eight_digits(long ticks, string expected)
    {
        Assert.Equal(expected, GrpcTimeout.Encode(TimeSpan.FromTicks(ticks)));
    }

    [Fact]
    public void Encodes_zero_negative_and_huge_values_within_the_grammar()
    {
        Assert.Equal("1n", GrpcTimeout.Encode(TimeSpan.Zero));
        Assert.Equal("1n", GrpcTimeout.Encode(TimeSpan.FromSeconds(-5)));
        Assert.Equal("99999999H", GrpcTimeout.Encode(TimeSpan.MaxValue));
        Assert.True(GrpcTimeout.TryParse(GrpcTimeout.Encode(TimeSpan.FromDays(365 * 50)), out _));
    }

    [Fact]
    public void Round_trip_never_shortens_the_timeout_and_stays_within_eight_digits()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (int i = 0; i < 10_000; i++)
        {
            var timeout = TimeSpan.FromTicks(random.NextInt64(1, TimeSpan.FromDays(1000).Ticks) >> random.Next(0, 40));
            if (timeout <= TimeSpan.Zero)
            {
                continue;
            }
            var text = GrpcTimeout.Encode(timeout);
            Assert.True(text.Length <= GrpcTimeout.MaxDigits + 1, $"seed {seed}: {timeout} encoded as {text}");
            Assert.True(GrpcTimeout.TryParse(text, out var parsed), $"seed {seed}: {text} does not parse");
            Assert.True(parsed >= timeout, $"seed {seed}: {timeout} became {parsed} via {text}");
            // The finest unit that fits is at most 1000x coarser than one that did not, so rounding adds < 1e-5.
            Assert.True((parsed - timeout).Ticks <= (timeout.Ticks / 100_000) + 1, $"seed {seed}: {timeout} became {parsed} via {text}");
        }
    }
}
