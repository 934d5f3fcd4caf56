using Akka.Configuration;
using Memo.Node.Configuration;

namespace Memo.Node.Tests.Configuration;

public sealed class ConfigTextTests
{
    public static TheoryData<string> Awkward => new()
    {
        "plain",
        "",
        " ",
        "  spaces  around  ",
        "with \"quotes\"",
        "\"\"\"triple\"\"\"",
        @"back\slash\",
        @"\u0041 stays as typed",
        "host:5090",
        "key = value, other: value",
        "[not, a, list]",
        "{ not = an object }",
        "${not.a.substitution} ${?nor.this} $",
        "# not a comment // nor this",
        "null",
        "true",
        "tab\there",
        "new\nline\r\n",
        "\u0001\u001f\u007f",
        "héllo wörld 日本語",
        "emoji 😀",
    };

    [Theory]
    [MemberData(nameof(Awkward))]
    public void Quoted_text_reads_back_through_Akkas_parser_exactly(string text)
    {
        var quoted = ConfigText.Quote(text);
        var problems = new List<string>();

        var config = ConfigDocument.Parse($"a = {quoted}\nb = [{quoted}, {quoted}]  # trailing comment\nc = {quoted}  \n", "test", problems);

        Assert.Empty(problems);
        Assert.NotNull(config);
        Assert.True(OptionsReader.TryGetText(config.GetValue("a"), out var a));
        Assert.Equal(text, a);
        Assert.True(OptionsReader.TryGetText(config.GetValue("c"), out var c));
        Assert.Equal(text, c);
        Assert.True(OptionsReader.TryGetItems(config.GetValue("b"), out var items));
        Assert.Equal(2, items.Count);
        Assert.All(items, item => Assert.True(OptionsReader.TryGetText(item, out var s) && s == text));
    }

    [Fact]
    public void Quote_escapes_quotes_backslashes_and_control_characters_only()
    {
        Assert.Equal("\"a \\\"b\\\" c\\\\d\\n\\t\\u0001 é ${x}\"", ConfigText.Quote("a \"b\" c\\d\n\t\u0001 é ${x}"));
    }

    [Theory]
    [InlineData("fast", "fast")]
    [InlineData("16MiB", "16MiB")]
    [InlineData("./memo-data", "./memo-data")]
    [InlineData("-5s", "-5s")]
    [InlineData("a:1", "\"a:1\"")]
    [InlineData("two words", "\"two words\"")]
    [InlineData("", "\"\"")]
    [InlineData("a//b", "\"a//b\"")]
    public void Show_leaves_plain_words_bare_and_quotes_the_rest(string text, string shown) =>
        Assert.Equal(shown, ConfigText.Show(text));

    [Fact]
    public void Unquoted_pieces_on_one_line_keep_the_spaces_between_them_but_not_after()
    {
        var config = ConfigurationFactory.ParseString("a = hello   big world   # comment\nb = \"x:\" y\t\n");

        Assert.True(OptionsReader.TryGetText(config.GetValue("a"), out var a));
        Assert.Equal("hello   big world", a);
        Assert.True(OptionsReader.TryGetText(config.GetValue("b"), out var b));
        Assert.Equal("x: y", b);
    }

    [Fact]
    public void Objects_lists_and_keys_without_a_value_are_not_text()
    {
        var config = ConfigurationFactory.ParseString("a { b = 1 }\nc = [1]\nd = []\ne\n");

        Assert.False(OptionsReader.TryGetText(config.GetValue("a"), out _));
        Assert.False(OptionsReader.TryGetText(config.GetValue("c"), out _));
        Assert.False(OptionsReader.TryGetText(config.GetValue("d"), out _));
        Assert.False(OptionsReader.TryGetText(config.GetValue("e"), out _));
        Assert.True(OptionsReader.TryGetItems(config.GetValue("d"), out var empty));
        Assert.Empty(empty);
        Assert.False(OptionsReader.TryGetItems(config.GetValue("a"), out _));
        Assert.Equal("{ b = 1 }", OptionsReader.Show(config.GetValue("a")));
        Assert.Equal("(no value)", OptionsReader.Show(config.GetValue("e")));
    }
}
