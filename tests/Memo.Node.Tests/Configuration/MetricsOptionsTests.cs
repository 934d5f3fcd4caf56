using Memo.Node.Configuration;

namespace Memo.Node.Tests.Configuration;

public sealed class MetricsOptionsTests
{
    [Fact]
    public void The_metrics_port_is_off_by_default()
    {
        var options = MemoOptions.Load(null, []);
        Assert.False(options.Metrics.Enabled);
        Assert.Equal("", options.Metrics.OtlpEndpoint);
    }

    [Fact]
    public void The_metrics_option_sets_the_listen_address()
    {
        var run = Assert.IsType<NodeCommand.Run>(NodeCommandLine.Parse(["--metrics", "127.0.0.1:9464"]));
        var options = run.LoadOptions();
        Assert.Equal("127.0.0.1:9464", options.Metrics.Listen);
        Assert.True(options.Metrics.Enabled);
    }

    [Fact]
    public void A_bad_metrics_address_or_collector_url_is_reported_with_its_key()
    {
        var e = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null,
            ["memo.metrics.listen = \"no-port\"", "memo.metrics.otlp-endpoint = \"udp://x\""]));
        Assert.Contains(e.Problems, p => p.StartsWith("memo.metrics.listen = \"no-port\": must be empty", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("memo.metrics.otlp-endpoint = \"udp://x\": must be empty or an http", StringComparison.Ordinal));
    }
}
