using Memo.Node.Configuration;

namespace Memo.Node.Tests.Configuration;

public sealed class SecurityOptionsTests
{
    [Theory]
    [InlineData("0.0.0.0:5090")]
    [InlineData("10.0.0.1:5090")]
    [InlineData("node1.example:5090")]
    public void A_cleartext_API_on_an_address_others_reach_is_refused_without_insecure(string listen)
    {
        var problems = Problems([$"memo.node.listen = \"{listen}\""]);

        Assert.Equal(
            [$"memo.node.listen = \"{listen}\": is not a loopback address, so the API needs TLS (memo.api.tls.certificate and key); to serve cleartext anyway, pass --insecure (memo.api.insecure = on)"],
            problems);
        Assert.True(MemoOptions.Load(null, [$"memo.node.listen = \"{listen}\"", "memo.api.insecure = on"]).Api.Insecure);
        Assert.True(MemoOptions.Load(null, [$"memo.node.listen = \"{listen}\"", "memo.api.tls { certificate = a.crt, key = a.key }"]).Api.Tls);
    }

    [Theory]
    [InlineData("127.0.0.1:5090")]
    [InlineData("localhost:5090")]
    [InlineData("[::1]:5090")]
    public void A_cleartext_API_on_loopback_needs_nothing(string listen) =>
        Assert.False(MemoOptions.Load(null, [$"memo.node.listen = \"{listen}\""]).Api.Tls);

    [Fact]
    public void Node_certificate_and_network_CA_go_together_and_so_do_the_API_certificate_and_key()
    {
        var problems = Problems(["memo.node.certificate = node.crt", "memo.api.tls.key = api.key"]);

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("memo.node.certificate = \"node.crt\": and memo.network.ca", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("memo.api.tls = ", StringComparison.Ordinal) && p.EndsWith("needs both a certificate and a key file, or neither", StringComparison.Ordinal));
    }

    [Fact]
    public void The_insecure_flag_of_the_command_line_sets_memo_api_insecure()
    {
        var run = Assert.IsType<NodeCommand.Run>(NodeCommandLine.Parse(["--insecure", "--listen", "0.0.0.0:5090"]));

        Assert.True(run.LoadOptions().Api.Insecure);
        Assert.Throws<MemoConfigurationException>(() => Assert.IsType<NodeCommand.Run>(NodeCommandLine.Parse(["--listen", "0.0.0.0:5090"])).LoadOptions());
        Assert.IsType<NodeCommand.UsageError>(NodeCommandLine.Parse(["--insecure", "--insecure"]));
    }

    private static IReadOnlyList<string> Problems(IReadOnlyList<string> overrides)
    {
        var e = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null, overrides));
        return e.Problems;
    }
}
