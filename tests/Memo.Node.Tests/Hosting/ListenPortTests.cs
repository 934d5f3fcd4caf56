using System.Net;
using System.Net.Sockets;
using Memo.Node.Hosting;

namespace Memo.Node.Tests.Hosting;

/// <summary>
/// <c>memo.node.listen</c> with port 0: the node reserves a free port before its server starts (peers are told it
/// first), and takes it below the kernel's ephemeral range, where no outgoing connection can be given it between the
/// reservation and the server's bind.
/// </summary>
public sealed class ListenPortTests
{
    [Fact]
    public void A_configured_port_is_kept()
    {
        Assert.Equal("127.0.0.1:5090", MemoNode.ResolveListen("127.0.0.1:5090"));
    }

    [Fact]
    public void Port_zero_becomes_a_free_port_below_the_ephemeral_range()
    {
        var resolved = MemoNode.ResolveListen("127.0.0.1:0");
        Assert.StartsWith("127.0.0.1:", resolved, StringComparison.Ordinal);
        var port = int.Parse(resolved["127.0.0.1:".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(port, 1, IPEndPoint.MaxPort);
        if (MemoNode.EphemeralRangeStart() is { } start && start >= 11_000)
        {
            Assert.InRange(port, 10_000, start - 1);
        }
        // Free: a listener binds it.
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        listener.Stop();
    }
}
