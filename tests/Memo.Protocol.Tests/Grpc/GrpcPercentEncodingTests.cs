using System.Text;
using Memo.Protocol.Grpc;
using Xunit.Abstractions;

namespace Memo.Protocol.Tests.Grpc;

public sealed class GrpcPercentEncodingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("plain text stays as is", "plain text stays as is")]
    [InlineData("100%", "100%25")]
    [InlineData("a\r\nb", "a%0D%0Ab")]
    [InlineData("é", "%C3%A9")]
    [InlineData("tab\there", "tab%09here")]
    [InlineData("~ and \u007f", "~ and %7F")]
    public void Encodes_bytes_outside_printable_ascii_and_percent(string message, string expected)
    {
        Assert.Equal(expected, GrpcPercentEncoding.Encode(message));
    }

    [Fact]
    public void Encoding_a_clean_message_returns_the_same_instance()
    {
        var message = "Key not found: abc";
        Assert.Same(message, GrpcPercentEncoding.Encode(message));
        Assert.Same(message, GrpcPercentEncoding.Decode(message));
    }

    [Theory]
    [InlineData("%C3%A9t%C3%A9", "été")]
    [InlineData("%c3%a9", "é")]
    [InlineData("50%", "50%")]
    [InlineData("%zz", "%zz")]
    [InlineData("%4", "%4")]
    [InlineData("%FF", "\uFFFD")]
    public void Decodes_leniently(string value, string expected)
    {
        Assert.Equal(expected, GrpcPercentEncoding.Decode(value));
    }

    [Fact]
    public void Round_trips_random_unicode_and_the_encoding_is_printable_ascii()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (int i = 0; i < 2_000; i++)
        {
            var sb = new StringBuilder();
            int length = random.Next(0, 700);
            for (int j = 0; j < length; j++)
            {
                int kind = random.Next(4);
                sb.Append(kind switch
                {
                    0 => (char)random.Next(0x20, 0x7F),
                    1 => (char)random.Next(0, 0x20),
                    2 => (char)random.Next(0xA0, 0xD7FF),
                    _ => '%',
                });
            }
            var message = sb.ToString();
            var encoded = GrpcPercentEncoding.Encode(message);
            Assert.True(encoded.All(c => c is >= ' ' and <= '~'), $"seed {seed}: non-printable output");
            Assert.Equal(message, GrpcPercentEncoding.Decode(encoded));
        }
    }
}
