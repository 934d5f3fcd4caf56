using Memo.Admin;

namespace Memo.Testing;

/// <summary>Admin clients (over Akka remoting, as <c>memo cluster</c> asks) for nodes under test.</summary>
public static class TestAdmin
{
    /// <summary>A client of the admin actor of the node whose remoting endpoint is <paramref name="remoteAddress"/>
    /// (host:port); dispose it to terminate its ActorSystem.</summary>
    public static AdminClient Connect(string remoteAddress, TimeSpan? timeout = null, string network = "memo")
    {
        if (!AdminEndpoint.TryParse(remoteAddress, network, out var endpoint, out var problem))
        {
            throw new ArgumentException(problem, nameof(remoteAddress));
        }
        return AdminClient.Start(endpoint, timeout ?? TimeSpan.FromSeconds(10));
    }
}
