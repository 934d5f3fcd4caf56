using System.Text;
using Memo.Node.Configuration;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Configuration;

public sealed class AkkaParserGuardTests(ITestOutputHelper output)
{
    // Each of these hangs Akka's parser, kills the process or loads something else than written (AkkaParserGuard).
    [Theory]
    [InlineData("a = [1 }", "line 1: '}' without a matching '{'")]
    [InlineData("a = [x = 1]", "line 1: '=' inside a list; quote the item if it should contain it (Akka's parser would loop forever on it)")]
    [InlineData("a = [\n  \"x\": 1\n]", "line 2: ':' inside a list; quote the item if it should contain it (Akka's parser would loop forever on it)")]
    [InlineData("a = [?]", "line 1: '?' inside a list; quote the item if it should contain it (Akka's parser would loop forever on it)")]
    [InlineData("a = ${a}", "line 1: substitutions (${...}) are not supported")]
    [InlineData("a = 1\nb = ${?B}", "line 2: substitutions (${...}) are not supported")]
    [InlineData("a = [1, 2", "line 1: this '[' is never closed")]
    [InlineData("a {\n  b = 1\n", "line 1: this '{' is never closed")]
    [InlineData("a = 1\nb = \"x\nc = 2", "line 2: unterminated string")]
    [InlineData("a = \"\"\"x", "line 1: unterminated string")]
    [InlineData("a { b = 1 } }\nc = 2", "line 1: '}' without a matching '{'")]
    [InlineData("a = 1 ]", "line 1: ']' without a matching '['")]
    public void Text_Akkas_parser_mishandles_is_refused_with_the_line(string text, string reason)
    {
        var refused = AkkaParserGuard.CheckText(text);

        Assert.NotNull(refused);
        Assert.StartsWith(reason, refused, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_beyond_the_limit_is_refused_before_it_can_overflow_the_stack()
    {
        var deep = "a = " + new string('[', 100_000) + new string(']', 100_000);
        var limit = "a = " + new string('[', AkkaParserGuard.MaxDepth) + new string(']', AkkaParserGuard.MaxDepth);

        Assert.Equal($"line 1: objects and lists nest deeper than {AkkaParserGuard.MaxDepth} levels", AkkaParserGuard.CheckText(deep));
        Assert.Null(AkkaParserGuard.CheckText(limit));
    }

    [Fact]
    public void Text_longer_than_the_limit_is_refused()
    {
        Assert.Equal($"longer than {AkkaParserGuard.MaxTextLength} characters",
            AkkaParserGuard.CheckText(new string(' ', AkkaParserGuard.MaxTextLength + 1)));
    }

    [Theory]
    [InlineData("a = [\"x:1\", \"y=2\", \"}\", \"${z}\", [1, 2], { k = v, l: w }, ] # [ ? }")]
    [InlineData("a = \"\"\"triple \" quoted ] } ${x}\"\"\"\nb = [ // comment with ] and }\n  1\n]")]
    [InlineData("a { b { c = \"q\\\"uote\" } }, d = [\"\\\\\"]")]
    [InlineData("")]
    public void Well_formed_text_passes_with_brackets_and_symbols_in_strings_and_comments(string text) =>
        Assert.Null(AkkaParserGuard.CheckText(text));

    [Fact]
    public void The_defaults_file_passes()
    {
        Assert.Null(AkkaParserGuard.CheckText(MemoOptions.ReferenceText));
    }

    [Fact]
    public void Random_text_either_parses_or_becomes_a_problem_without_hanging_or_crashing()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        string[] pieces =
        [
            "a", "b", "a.b", " = ", ":", "{", "}", "[", "]", ", ", "\n", "\"x y\"", "${a}", "1", "5ms", " ", "#c\n", "//c\n",
            "\"\"\"t\"\"\"", ".", "+=", "?", "\"", "\\", "include \"f\"", "=",
        ];
        for (var i = 0; i < 3000; i++)
        {
            var sb = new StringBuilder();
            for (var n = random.Next(0, 20); n > 0; n--)
            {
                sb.Append(pieces[random.Next(pieces.Length)]);
            }

            var text = sb.ToString();
            var problems = new List<string>();
            Akka.Configuration.Config? config = null;
            // A background thread, so that a hang fails the test with its input instead of stalling the run.
            var parse = new Thread(() => config = ConfigDocument.Parse(text, "fuzz", problems)) { IsBackground = true };
            parse.Start();

            Assert.True(parse.Join(TimeSpan.FromSeconds(10)), $"seed {seed}: parsing {ConfigText.Quote(text)} did not finish");
            Assert.True(config is not null ^ problems.Count == 1, $"seed {seed}: {ConfigText.Quote(text)}");
        }
    }
}
