using Memo.Testing;

namespace Memo.Client.Akka.Tests;

/// <summary>One real in-process node shared by a test class; tests keep to their own keys.</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    private TestNode? _node;

    /// <summary>host:port of the node.</summary>
    public string Address => (_node ?? throw new InvalidOperationException("The node has not started.")).Address;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync(["memo.shards.count = 4"]);

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }
}
