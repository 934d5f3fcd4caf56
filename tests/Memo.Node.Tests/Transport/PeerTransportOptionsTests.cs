using Memo.Node.Transport;

namespace Memo.Node.Tests.Transport;

public sealed class PeerTransportOptionsTests
{
    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.Empty(new PeerTransportOptions().Validate());
    }

    [Fact]
    public void Validation_reports_every_problem_at_once()
    {
        var options = new PeerTransportOptions
        {
            QueueCapacity = 0,
            MaxQueuedBytes = 10,
            MaxMessageBytes = 100,
            InboundCapacity = -1,
            ReconnectBackoffMin = TimeSpan.FromSeconds(10),
            ReconnectBackoffMax = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.Zero,
        };

        var errors = options.Validate();

        Assert.Collection(errors,
            e => Assert.Contains(nameof(options.QueueCapacity), e),
            e => Assert.Contains(nameof(options.InboundCapacity), e),
            e => Assert.Contains("could never be queued", e),
            e => Assert.Contains(nameof(options.ReconnectBackoffMax), e),
            e => Assert.Contains(nameof(options.ConnectTimeout), e));
    }
}
