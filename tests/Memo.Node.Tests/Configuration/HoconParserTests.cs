using Memo.Node.Configuration;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Configuration;

public sealed class HoconParserTests(ITestOutputHelper output)
{
    private static HoconValue At(string text, string path) =>
        HoconParser.Parse(text).Find(path) ?? throw new Xunit.Sdk.XunitException($"no value at {path}");

    [Theory]
    [InlineData("a = 1")]
    [InlineData("a : 1")]
    [InlineData("a=1")]
    [InlineData("a:1")]
    [InlineData("  a   =   1   ")]
    public void Equals_and_colon_both_separate_a_key_from_its_value(string text) =>
        Assert.Equal(1, At(text, "a").GetInt32());

    [Fact]
    public void Objects_nest_with_or_without_a_separator_before_the_brace()
    {
        var root = HoconParser.Parse("a { b = 1 }\nc = { d { e : 2 } }\nf : { }");

        Assert.Equal(1, root.Find("a.b")!.GetInt32());
        Assert.Equal(2, root.Find("c.d.e")!.GetInt32());
        Assert.Equal(0, root.Find("f")!.GetObject().Count);
    }

    [Fact]
    public void Dotted_keys_create_nesting()
    {
        var root = HoconParser.Parse("a.b.c = 1\na.b.d = 2");

        var b = root.Find("a.b")!.GetObject();
        Assert.Equal<string>(["c", "d"], b.Keys);
        Assert.Equal(2, root.Find(["a", "b", "d"])!.GetInt32());
    }

    [Fact]
    public void A_quoted_key_segment_keeps_its_dot()
    {
        var root = HoconParser.Parse("a.\"b.c\".d = 1\n\"x y\" = 2");

        Assert.Equal(1, root.Find(["a", "b.c", "d"])!.GetInt32());
        Assert.Null(root.Find("a.b"));
        Assert.Equal(2, root.Find(["x y"])!.GetInt32());
    }

    [Fact]
    public void A_later_definition_overrides_an_earlier_one()
    {
        Assert.Equal("second", At("a = first\na = second", "a").GetString());
    }

    [Fact]
    public void Objects_defined_twice_merge_field_by_field()
    {
        var root = HoconParser.Parse("a { x = 1, y = 2 }\na.y = 3\na { z = 4 }");

        var a = root.Find("a")!.GetObject();
        Assert.Equal<string>(["x", "y", "z"], a.Keys);
        Assert.Equal(1, a.Find("x")!.GetInt32());
        Assert.Equal(3, a.Find("y")!.GetInt32());
        Assert.Equal(4, a.Find("z")!.GetInt32());
    }

    [Fact]
    public void A_scalar_replaces_an_object_and_an_object_replaces_a_scalar()
    {
        var root = HoconParser.Parse("a { x = 1 }\na = 5\nb = 5\nb { y = 2 }");

        Assert.Equal(5, root.Find("a")!.GetInt32());
        Assert.Equal<string>(["y"], root.Find("b")!.GetObject().Keys);
    }

    [Fact]
    public void WithOverrides_merges_objects_and_replaces_everything_else()
    {
        var under = HoconParser.Parse("a { x = 1, y = [1, 2] }, b = 1");
        var over = HoconParser.Parse("a { y = [3] }, c = 2");

        var merged = under.WithOverrides(over);

        Assert.Equal("{ a = { x = 1, y = [3] }, b = 1, c = 2 }", merged.ToString());
        Assert.Equal("{ a = { x = 1, y = [1, 2] }, b = 1 }", under.ToString());
    }

    [Fact]
    public void Hash_and_double_slash_comments_are_ignored_everywhere()
    {
        var text = """
            # leading comment
            // another
            a = 1 # after a value
            b = "x # not a comment" // after a string
            c = [ # inside a list
              1, // after an item
              2
            ]
            """;
        var root = HoconParser.Parse(text);

        Assert.Equal(1, root.Find("a")!.GetInt32());
        Assert.Equal("x # not a comment", root.Find("b")!.GetString());
        Assert.Equal(2, root.Find("c")!.GetList().Length);
    }

    [Fact]
    public void Quoted_strings_decode_json_escapes()
    {
        var value = At("""a = "q\" b\\ s\/ n\n t\t u\u00e9 r\r" """, "a");

        Assert.Equal("q\" b\\ s/ n\n t\t u\u00e9 r\r", value.GetString());
        Assert.True(value.IsQuoted);
    }

    [Fact]
    public void Unquoted_pieces_on_one_line_concatenate_with_the_whitespace_between()
    {
        Assert.Equal("hello   big world", At("a =   hello   big world   # comment", "a").GetString());
        Assert.Equal("x: y", At("a = \"x:\" y", "a").GetString());
    }

    [Fact]
    public void An_unquoted_value_may_contain_a_colon_and_dots()
    {
        Assert.Equal("10.0.0.1:5090", At("listen = 10.0.0.1:5090", "listen").GetString());
        Assert.Equal("./memo-data", At("dir = ./memo-data", "dir").GetString());
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("on", true)]
    [InlineData("yes", true)]
    [InlineData("false", false)]
    [InlineData("off", false)]
    [InlineData("no", false)]
    [InlineData("\"yes\"", true)]
    public void Booleans_read_in_every_spelling(string text, bool expected) =>
        Assert.Equal(expected, At("a = " + text, "a").GetBoolean());

    [Fact]
    public void Numbers_read_as_32_and_64_bit_integers()
    {
        var root = HoconParser.Parse("a = 1024\nb = -7\nc = 9000000000\nd = \"42\"");

        Assert.Equal(1024, root.Find("a")!.GetInt32());
        Assert.Equal(-7, root.Find("b")!.GetInt32());
        Assert.Equal(9_000_000_000L, root.Find("c")!.GetInt64());
        Assert.Equal(42, root.Find("d")!.GetInt32());
        var tooBig = Assert.Throws<HoconException>(() => root.Find("c")!.GetInt32());
        Assert.Contains("expected a 32-bit integer", tooBig.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lists_span_lines_hold_any_values_and_allow_a_trailing_comma()
    {
        var root = HoconParser.Parse("a = [\n  \"x:1\",\n  y\n  [1, 2],\n  { k = v },\n]\nempty = []");

        var items = root.Find("a")!.GetList();
        Assert.Equal(4, items.Length);
        Assert.Equal("x:1", items[0].GetString());
        Assert.Equal("y", items[1].GetString());
        Assert.Equal(2, items[2].GetList()[1].GetInt32());
        Assert.Equal("v", items[3].GetObject().Find("k")!.GetString());
        Assert.Empty(root.Find("empty")!.GetList());
    }

    [Fact]
    public void The_root_may_be_braced_or_bare()
    {
        Assert.Equal(HoconParser.Parse("a = 1, b = 2").ToString(), HoconParser.Parse("{ a = 1\n b = 2 }").ToString());
        Assert.Equal(0, HoconParser.Parse("  # only a comment\n").Count);
    }

    [Theory]
    [InlineData("250ms", 250 * TimeSpan.TicksPerMillisecond)]
    [InlineData("5s", 5 * TimeSpan.TicksPerSecond)]
    [InlineData("10m", 10 * TimeSpan.TicksPerMinute)]
    [InlineData("1h", TimeSpan.TicksPerHour)]
    [InlineData("2d", 2 * TimeSpan.TicksPerDay)]
    [InlineData("\"1.5 seconds\"", 15 * TimeSpan.TicksPerSecond / 10)]
    public void Durations_read_as_TimeSpan(string text, long ticks) =>
        Assert.Equal(TimeSpan.FromTicks(ticks), At("a = " + text, "a").GetDuration());

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("64KiB", 64L * 1024)]
    [InlineData("16MiB", 16L << 20)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("4MB", 4_000_000L)]
    public void Sizes_read_as_bytes(string text, long bytes) =>
        Assert.Equal(bytes, At("a = " + text, "a").GetByteSize());

    [Fact]
    public void Values_remember_their_line_and_column()
    {
        var root = HoconParser.Parse("a {\n  b = 1\n    c = [x]\n}", "test.conf");

        Assert.Equal(new HoconPosition("test.conf", 2, 7), root.Find("a.b")!.Position);
        Assert.Equal(new HoconPosition("test.conf", 3, 9), root.Find("a.c")!.Position);
        Assert.Equal("test.conf:3:9", root.Find("a.c")!.Position.ToString());
    }

    [Theory]
    [InlineData("a = \"abc", 1, 5, "unterminated string")]
    [InlineData("a = \"abc\nb = 1", 1, 5, "unterminated string")]
    [InlineData("a {\n  b = 1\n", 1, 3, "unterminated object")]
    [InlineData("x = 1\na = [1, 2", 2, 5, "unterminated list")]
    [InlineData("a = ", 1, 5, "missing value")]
    [InlineData("a =\nb = 1", 1, 4, "missing value")]
    [InlineData("a 1", 1, 3, "expected '=', ':' or '{' after key 'a'")]
    [InlineData("a = ${b}", 1, 5, "substitutions")]
    [InlineData("include \"other.conf\"", 1, 1, "'include' is not supported")]
    [InlineData("a += 1", 1, 3, "'+=' is not supported")]
    [InlineData("a..b = 1", 1, 3, "empty key segment")]
    [InlineData("a. = 1", 1, 3, "empty key segment")]
    [InlineData("a = \"\\q\"", 1, 6, "invalid escape '\\q'")]
    [InlineData("a = \"\\u12\"", 1, 6, "invalid \\u escape")]
    [InlineData("a = 1 }", 1, 7, "unexpected '}'")]
    [InlineData("a = b = c", 1, 7, "unexpected '=' in a value")]
    [InlineData("{ a = 1 } b", 1, 11, "after the root object")]
    [InlineData("a = { b = 1 } c", 1, 15, "expected ',' or a new line")]
    [InlineData("a = [1 }", 1, 8, "expected ',' or ']'")]
    [InlineData("a = x[1]", 1, 6, "cannot concatenate a list")]
    [InlineData("a = \"\"\"x\"\"\"", 1, 5, "triple-quoted")]
    [InlineData("= 1", 1, 1, "expected a key, found '='")]
    [InlineData("a = 1,,b = 2", 1, 7, "expected a key, found ','")]
    public void Malformed_text_fails_with_position_and_reason(string text, int line, int column, string reason)
    {
        var e = Assert.Throws<HoconException>(() => HoconParser.Parse(text, "t.conf"));

        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
        Assert.Equal(new HoconPosition("t.conf", line, column), e.Position);
        Assert.StartsWith($"t.conf:{line}:{column}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_beyond_the_limit_fails_instead_of_overflowing_the_stack()
    {
        var text = "a = " + new string('[', 10_000);

        var e = Assert.Throws<HoconException>(() => HoconParser.Parse(text));

        Assert.Contains("nest deeper than", e.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5 parsecs", "a duration")]
    [InlineData("10", "a duration")]
    [InlineData("-5s", "a duration")]
    public void A_bad_duration_fails_naming_the_value_and_its_position(string text, string expected)
    {
        var value = At("\n  a = " + text, "a");

        var e = Assert.Throws<HoconException>(() => value.GetDuration());

        Assert.Equal(new HoconPosition("<text>", 2, 7), e.Position);
        Assert.Contains(expected, e.Reason, StringComparison.Ordinal);
        Assert.Contains(HoconParser.Quote(text), e.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("12XB")]
    [InlineData("1.3B")]
    [InlineData("-1")]
    [InlineData("99999999TiB")]
    public void A_bad_size_fails_naming_the_value(string text)
    {
        var e = Assert.Throws<HoconException>(() => At("a = " + text, "a").GetByteSize());

        Assert.Contains("a size in bytes", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_an_object_as_a_scalar_fails_clearly()
    {
        var e = Assert.Throws<HoconException>(() => At("a { b = 1 }", "a").GetInt32());

        Assert.Contains("found an object", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Rendered_text_parses_back_to_the_same_tree()
    {
        var original = HoconParser.Parse(File.ReadAllText(RepoFiles.DefaultsFile));
        var text = original.ToString();

        Assert.Equal(text, HoconParser.Parse(text).ToString());
        Assert.Equal("\"a \\\"b\\\"\\n\"", HoconParser.Quote("a \"b\"\n"));
    }

    [Fact]
    public void Random_garbage_either_parses_or_fails_with_a_HoconException()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        const string alphabet = "ab.=:{}[],\"\\#/ \n\t$+1u5ms";
        for (var i = 0; i < 5000; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            var text = new string(chars);
            try
            {
                _ = HoconParser.Parse(text).ToString();
            }
            catch (HoconException)
            {
                // Expected for most inputs; any other exception type fails the test with the seed printed above.
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed}, input {HoconParser.Quote(text)}: {e}");
            }
        }
    }
}
