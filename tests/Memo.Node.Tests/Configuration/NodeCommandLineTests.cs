using Memo.Node.Configuration;

namespace Memo.Node.Tests.Configuration;

public sealed class NodeCommandLineTests
{
    private static NodeCommand.Run Run(params string[] args) => Assert.IsType<NodeCommand.Run>(NodeCommandLine.Parse(args));

    private static string Error(params string[] args) => Assert.IsType<NodeCommand.UsageError>(NodeCommandLine.Parse(args)).Message;

    private static MemoOptions Options(NodeCommand.Run run) => run.LoadOptions();

    [Fact]
    public void No_arguments_run_the_node_on_the_defaults()
    {
        Assert.Equal(new NodeCommand.Run(null, []), NodeCommandLine.Parse([]));
    }

    [Fact]
    public void Each_option_becomes_an_override_in_command_line_order()
    {
        var run = Run("--listen", "0.0.0.0:6000", "--config", "my.conf", "--data=/var/memo", "--seed", "a:1",
            "--set", "memo.raft.tick-interval=50ms", "--seed", "b:2", "--replication-factor", "5",
            "--eviction-delay", "1h", "--versions", "4", "--erasure", "4+2", "--shards", "128");

        Assert.Equal("my.conf", run.ConfigFile);
        Assert.Equal<string>(
        [
            "memo.node.listen = \"0.0.0.0:6000\"",
            "memo.node.data-directory = \"/var/memo\"",
            "memo.node.seeds = [\"a:1\", \"b:2\"]",
            "memo.raft.tick-interval=50ms",
            "memo.network.replication-factor = \"5\"",
            "memo.network.eviction-delay = \"1h\"",
            "memo.network.versions = \"4\"",
            "memo.network.erasure = \"4+2\"",
            "memo.shards.count = \"128\"",
        ], run.Overrides);
    }

    [Fact]
    public void Command_line_options_override_the_config_file()
    {
        var file = Path.Combine(Path.GetTempPath(), $"memo-cli-{Guid.NewGuid():N}.conf");
        File.WriteAllText(file, "memo.shards.count = 32\nmemo.node.listen = \"10.0.0.9:7000\"\nmemo.raft.election-ticks = 20");
        try
        {
            var o = Options(Run("--config", file, "--shards", "256", "--listen", "[::1]:0", "--seed", "x:1", "--seed", "y:2",
                "--replication-factor", "5", "--eviction-delay", "90s", "--versions", "7", "--data", "d"));

            Assert.Equal(256, o.Shards.Count);
            Assert.Equal("[::1]:0", o.Node.Listen);
            Assert.Equal(20, o.Raft.ElectionTicks);
            Assert.Equal<string>(["x:1", "y:2"], o.Node.Seeds);
            Assert.Equal(new NetworkOptions(5, TimeSpan.FromSeconds(90), Versions: 7), o.Network);
            Assert.Equal("d", o.Node.DataDirectory);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Later_options_win_over_earlier_ones()
    {
        Assert.Equal(16, Options(Run("--shards", "8", "--set", "memo.shards.count=16")).Shards.Count);
        Assert.Equal(8, Options(Run("--set", "memo.shards.count=16", "--shards", "8")).Shards.Count);
    }

    [Fact]
    public void Option_values_cannot_inject_configuration()
    {
        var o = Options(Run("--data", "x\" , memo.shards.count = 2 #"));

        Assert.Equal("x\" , memo.shards.count = 2 #", o.Node.DataDirectory);
        Assert.Equal(64, o.Shards.Count);
    }

    [Theory]
    [InlineData("with \"quotes\" and \\backslashes\\")]
    [InlineData("C:\\memo\\data")]
    [InlineData("host:5090/[list]/{object}/${subst}/$HOME")]
    [InlineData("  spaces around and inside  ")]
    [InlineData("null")]
    [InlineData("données/日本語/😀")]
    [InlineData("# not a comment // nor this")]
    [InlineData("tab\tnew line\n")]
    public void Option_values_reach_the_options_exactly(string value)
    {
        var o = Options(Run("--data", value, "--seed", "a:1", "--seed", "b:2"));

        Assert.Equal(value, o.Node.DataDirectory);
        Assert.Equal<string>(["a:1", "b:2"], o.Node.Seeds);
    }

    [Fact]
    public void Remote_sets_the_Akka_remoting_address_and_defaults_to_port_5091()
    {
        Assert.Equal("127.0.0.1:5091", Options(Run()).Node.Remote);
        Assert.Equal("10.0.0.2:0", Options(Run("--remote", "10.0.0.2:0")).Node.Remote);
    }

    [Fact]
    public void An_unknown_option_is_a_usage_error_listing_the_valid_ones()
    {
        var message = Error("--listen", "a:1", "--port", "5");

        Assert.Equal(
            "unknown option '--port'. Valid options: --listen, --remote, --data, --seed, --config, --set, --replication-factor, " +
            "--eviction-delay, --versions, --erasure, --shards, --metrics, --insecure, --help, --version",
            message);
        var error = Assert.IsType<NodeCommand.UsageError>(NodeCommandLine.Parse(["--port=5"]));
        Assert.Contains(NodeCommandLine.Usage, error.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--listen" }, "option '--listen' needs a value: --listen HOST:PORT")]
    [InlineData(new[] { "--config", "a", "--config", "b" }, "option '--config' given more than once")]
    [InlineData(new[] { "--set", "memo.shards.count" }, "--set expects KEY=VALUE, e.g. --set memo.shards.count=128; got 'memo.shards.count'")]
    [InlineData(new[] { "--shards", "many" }, "--shards expects a non-negative integer; got 'many'")]
    [InlineData(new[] { "--replication-factor", "-1" }, "--replication-factor expects a non-negative integer; got '-1'")]
    [InlineData(new[] { "--versions", "ten" }, "--versions expects a non-negative integer; got 'ten'")]
    [InlineData(new[] { "--eviction-delay", "10" }, "--eviction-delay expects a duration with a unit, e.g. 250ms, 5s, 10m, 1h, 2d; got '10'")]
    [InlineData(new[] { "serve" }, "unexpected argument 'serve'; every setting is given through an option")]
    public void Malformed_arguments_are_usage_errors(string[] args, string expected) =>
        Assert.Equal(expected, Error(args));

    [Fact]
    public void Help_shows_the_usage_with_every_option()
    {
        var help = Assert.IsType<NodeCommand.Help>(NodeCommandLine.Parse(["--listen", "a:1", "--help"]));

        Assert.StartsWith("Usage: dotnet Memo.Node.dll [options]", help.Text, StringComparison.Ordinal);
        foreach (var option in new[] { "--listen HOST:PORT", "--data DIR", "--seed HOST:PORT", "--config FILE", "--set KEY=VALUE",
                     "--replication-factor N", "--eviction-delay DURATION", "--versions N", "--erasure off|K+M", "--shards N", "--help", "--version" })
        {
            Assert.Contains("  " + option + " ", help.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Version_names_the_node_and_its_version()
    {
        var version = Assert.IsType<NodeCommand.Version>(NodeCommandLine.Parse(["--version"]));

        Assert.Matches(@"^memo node \d+\.\d+", version.Text);
    }
}
