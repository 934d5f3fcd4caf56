using Grpc.Net.Client;
using Memo.Protocol.Cluster;

namespace Memo.Protocol.Client;

/// <summary>
/// The client of a node's <c>memo.cluster.ClusterAdmin</c> service (what <c>memo cluster ...</c> calls), over
/// <c>Grpc.Net.Client</c>. Failures throw <see cref="Memo.Protocol.Grpc.GrpcException"/>: NOT_FOUND for an unknown
/// member, FAILED_PRECONDITION for a refused change, UNAVAILABLE when the node cannot be reached.
/// </summary>
public sealed class ClusterAdminClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel;
    private readonly UnaryCaller _calls;

    /// <summary>Connects to a node at <c>host:port</c>.</summary>
    public ClusterAdminClient(string target, TimeSpan? timeout = null)
        : this(target, channelOptions: null, timeout)
    {
    }

    /// <summary>Connects to a node's admin service with the given transport options (the CLI shares its options with <see cref="MemoClient"/>).</summary>
    /// <exception cref="ArgumentException">The target or the channel options are invalid.</exception>
    public ClusterAdminClient(string target, MemoChannelOptions? channelOptions, TimeSpan? timeout = null)
        : this(MemoChannel.Create(target, channelOptions), ownsChannel: true, timeout)
    {
    }

    /// <summary>Uses an existing channel, which the caller keeps owning.</summary>
    public ClusterAdminClient(GrpcChannel channel, TimeSpan? timeout = null)
        : this(channel, ownsChannel: false, timeout)
    {
    }

    private ClusterAdminClient(GrpcChannel channel, bool ownsChannel, TimeSpan? timeout)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channel = channel;
        _ownsChannel = ownsChannel;
        _calls = new UnaryCaller(channel.CreateCallInvoker(), timeout);
    }

    /// <summary>The membership as the node sees it.</summary>
    public Task<ShowResponse> ShowAsync(CancellationToken cancellationToken = default) =>
        _calls.CallAsync(ClusterAdminMethods.Show, new ShowRequest(), cancellationToken);

    /// <summary>Every shard's replica set.</summary>
    public Task<ShardsResponse> ShardsAsync(CancellationToken cancellationToken = default) =>
        _calls.CallAsync(ClusterAdminMethods.Shards, new ShardsRequest(), cancellationToken);

    /// <summary>Tells the node to join the cluster of <paramref name="seed"/>.</summary>
    public Task JoinAsync(string seed, CancellationToken cancellationToken = default) =>
        _calls.CallAsync(ClusterAdminMethods.Join, new JoinRequest { Seed = seed }, cancellationToken);

    /// <summary>Makes a member (id or address; null: the node itself) leave; returns the member's id.</summary>
    public async Task<string> LeaveAsync(string? node = null, CancellationToken cancellationToken = default) =>
        (await _calls.CallAsync(ClusterAdminMethods.Leave, new LeaveRequest { Node = node ?? "" }, cancellationToken).ConfigureAwait(false)).Id;

    /// <summary>Downs a member (id or address); returns the member's id.</summary>
    public async Task<string> DownAsync(string node, CancellationToken cancellationToken = default) =>
        (await _calls.CallAsync(ClusterAdminMethods.Down, new DownRequest { Node = node }, cancellationToken).ConfigureAwait(false)).Id;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsChannel)
        {
            _channel.Dispose();
        }
    }
}
