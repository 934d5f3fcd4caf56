using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Memo.Node.Storage;
using Microsoft.FSharp.Core;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Storage;

public sealed class EntryKeyOrderTests(ITestOutputHelper output)
{
    // Characters around every boundary that matters: ASCII, LIKE wildcards, NUL, two-byte UTF-8, the surrogate
    // range edges (U+D7FF, U+E000), U+FFFF, and supplementary characters up to U+10FFFF.
    private static readonly string[] _pieces = ["a", "b", "%", "_", "\0", "é", "\u07FF", "\u0800", "\uD7FF", "\uE000", "\uFFFE", "\uFFFF", "😀", "\U00010000", "\U0010FFFE", "\U0010FFFF"];

    private static Gen<string> Keys() =>
        Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(Gen.Elements(_pieces), n)).Select(string.Concat);

    private static int Utf8Compare(string a, string b) =>
        Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));

    private Config SeededConfig()
    {
        var seedText = Environment.GetEnvironmentVariable("MEMO_TEST_SEED");
        var seed = seedText is null ? (ulong)Random.Shared.NextInt64() : ulong.Parse(seedText, CultureInfo.InvariantCulture);
        output.WriteLine($"seed {seed} (replay with MEMO_TEST_SEED={seed})");
        return Config.QuickThrowOnFailure.WithMaxTest(2000)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None)));
    }

    [Fact]
    public void Compare_orders_keys_as_their_UTF8_bytes()
    {
        var pairs = Keys().SelectMany(a => Keys().Select(b => (a, b))).ToArbitrary();
        Check.One(SeededConfig(), Prop.ForAll(pairs, p => Math.Sign(EntryKeyOrder.Compare(p.a, p.b)) == Math.Sign(Utf8Compare(p.a, p.b))));
    }

    [Fact]
    public void Supplementary_characters_sort_after_U_FFFF_unlike_UTF16_ordinal()
    {
        Assert.True(EntryKeyOrder.Compare("\uFFFF", "😀") < 0);
        Assert.True(string.CompareOrdinal("\uFFFF", "😀") > 0);
        Assert.True(EntryKeyOrder.Compare("\uE000", "\U00010000") < 0);
        Assert.True(EntryKeyOrder.Compare("\uD7FF", "\uE000") < 0);
        Assert.True(EntryKeyOrder.Compare("a", "a\0") < 0);
        Assert.Equal(0, EntryKeyOrder.Compare("😀x", "😀x"));
    }

    [Theory]
    [InlineData("a", "b")]
    [InlineData("ab", "ac")]
    [InlineData("a%", "a&")]
    [InlineData("a\uD7FF", "a\uE000")]
    [InlineData("a\uFFFF", "a\U00010000")]
    [InlineData("a😀", "a😁")]
    [InlineData("a\U0010FFFF", "b")]
    [InlineData("a\U0010FFFF\U0010FFFF", "b")]
    [InlineData("\U0010FFFEz\U0010FFFF", "\U0010FFFE{")]
    public void PrefixUpperBound_bumps_the_last_code_point_that_can_be_bumped(string prefix, string expected)
    {
        Assert.Equal(expected, EntryKeyOrder.PrefixUpperBound(prefix));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\U0010FFFF")]
    [InlineData("\U0010FFFF\U0010FFFF")]
    public void PrefixUpperBound_is_null_when_every_greater_key_has_the_prefix(string prefix)
    {
        Assert.Null(EntryKeyOrder.PrefixUpperBound(prefix));
    }

    [Fact]
    public void A_key_has_the_prefix_exactly_when_it_lies_between_the_prefix_and_its_upper_bound()
    {
        var pairs = Keys().SelectMany(key => Keys().Select(prefix => (key, prefix))).ToArbitrary();
        Check.One(SeededConfig(), Prop.ForAll(pairs, p =>
        {
            var upper = EntryKeyOrder.PrefixUpperBound(p.prefix);
            var inRange = EntryKeyOrder.Compare(p.key, p.prefix) >= 0 && (upper is null || EntryKeyOrder.Compare(p.key, upper) < 0);
            return inRange == p.key.StartsWith(p.prefix, StringComparison.Ordinal);
        }));
    }

    [Fact]
    public void Lone_surrogates_are_not_well_formed_and_have_no_upper_bound()
    {
        // Not theory data: xunit serialises theory arguments as UTF-8, which would replace the lone surrogates.
        foreach (var value in new[] { "\uD800", "a\uDC00", "\uDC00\uD800", "x\uD83D", "\uD83D\uD83D\uDE00" })
        {
            Assert.False(EntryKeyOrder.IsWellFormed(value));
            Assert.Throws<ArgumentException>(() => EntryKeyOrder.PrefixUpperBound(value));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("😀\U0010FFFF\0")]
    public void Strings_without_lone_surrogates_are_well_formed(string value)
    {
        Assert.True(EntryKeyOrder.IsWellFormed(value));
    }
}
