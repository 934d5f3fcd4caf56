using Memo.Node.Configuration;
using Memo.Node.Hosting;
using Memo.Protocol.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Testing;

/// <summary>
/// A real Memo node running in-process on 127.0.0.1 with an ephemeral port and its own temporary data folder.
/// Restart keeps the folder, so tests can check what survives a stop.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _overrides;
    private readonly ILoggerFactory _loggerFactory;
    private readonly bool _ownsFolder;
    private MemoNode? _node;

    private TestNode(string dataDirectory, IReadOnlyList<string> overrides, ILoggerFactory loggerFactory, bool ownsFolder)
    {
        DataDirectory = dataDirectory;
        _overrides = overrides;
        _loggerFactory = loggerFactory;
        _ownsFolder = ownsFolder;
    }

    /// <summary>The node's data folder.</summary>
    public string DataDirectory { get; }

    /// <summary>host:port of the running node.</summary>
    public string Address => Node.Address;

    /// <summary>The running node.</summary>
    public MemoNode Node => _node ?? throw new InvalidOperationException("The test node is stopped.");

    /// <summary>
    /// Starts a node. <paramref name="overrides"/> are HOCON snippets such as <c>memo.shards.count = 4</c>.
    /// With <paramref name="dataDirectory"/> null a fresh temporary folder is used and deleted on dispose.
    /// </summary>
    public static async Task<TestNode> StartAsync(IEnumerable<string>? overrides = null, string? dataDirectory = null, ILoggerFactory? loggerFactory = null)
    {
        var owns = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "memo-test-" + Guid.NewGuid().ToString("n"));
        var node = new TestNode(dataDirectory, (overrides ?? []).ToList(), loggerFactory ?? NullLoggerFactory.Instance, owns);
        await node.StartAgainAsync().ConfigureAwait(false);
        return node;
    }

    /// <summary>Options for this node: the built-in defaults, loopback ephemeral port, its folder, then the overrides.</summary>
    public MemoOptions Options() => MemoOptions.Load(
        configFile: null,
        [$"memo.node.listen = \"127.0.0.1:0\"", "memo.node.remote = \"127.0.0.1:0\"", $"memo.node.data-directory = \"{DataDirectory.Replace("\\", "/", StringComparison.Ordinal)}\"", .. _overrides]);

    /// <summary>Starts the node again on the same data folder (after <see cref="StopAsync"/>).</summary>
    public async Task StartAgainAsync()
    {
        if (_node is not null)
        {
            throw new InvalidOperationException("The test node is already running.");
        }
        _node = await MemoNode.StartAsync(Options(), _loggerFactory).ConfigureAwait(false);
    }

    /// <summary>Stops the node gracefully, keeping its data folder.</summary>
    public async Task StopAsync()
    {
        var node = Interlocked.Exchange(ref _node, null);
        if (node is not null)
        {
            await node.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A client of this node.</summary>
    public MemoClient Client(TimeSpan? timeout = null) => new(Address, new MemoClientOptions { Timeout = timeout ?? TimeSpan.FromSeconds(30) });

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_ownsFolder)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover temp folder is harmless.
            }
        }
    }
}
