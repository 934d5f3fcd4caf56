using Memo.Protocol.Cluster;
using Memo.Protocol.Grpc;

namespace Memo.Protocol.Client;

/// <summary>
/// The client of a node's <c>memo.cluster.ClusterAdmin</c> service (what <c>memo cluster ...</c> calls). Failures
/// throw <see cref="GrpcException"/>: NOT_FOUND for an unknown member, FAILED_PRECONDITION for a refused change,
/// UNAVAILABLE when the node cannot be reached.
/// </summary>
public sealed class ClusterAdminClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel;
    private readonly TimeSpan? _timeout;

    /// <summary>Connects to a node at <c>host:port</c>.</summary>
    public ClusterAdminClient(string target, TimeSpan? timeout = null)
        : this(target, channelOptions: null, timeout)
    {
    }

    /// <summary>Connects to a node's admin service with the given transport options (the CLI shares its options with <see cref="MemoClient"/>).</summary>
    public ClusterAdminClient(string target, GrpcChannelOptions? channelOptions, TimeSpan? timeout = null)
    {
        _channel = new GrpcChannel(target, channelOptions);
        _ownsChannel = true;
        _timeout = timeout;
    }

    /// <summary>Uses an existing channel, which the caller keeps owning.</summary>
    public ClusterAdminClient(GrpcChannel channel, TimeSpan? timeout = null)
    {
        _channel = channel;
        _timeout = timeout;
    }

    /// <summary>The membership as the node sees it.</summary>
    public Task<ShowResponse> ShowAsync(CancellationToken cancellationToken = default) =>
        CallAsync(ClusterAdminMethods.Show, new ShowRequest(), cancellationToken);

    /// <summary>Every shard's replica set.</summary>
    public Task<ShardsResponse> ShardsAsync(CancellationToken cancellationToken = default) =>
        CallAsync(ClusterAdminMethods.Shards, new ShardsRequest(), cancellationToken);

    /// <summary>Tells the node to join the cluster of <paramref name="seed"/>.</summary>
    public Task JoinAsync(string seed, CancellationToken cancellationToken = default) =>
        CallAsync(ClusterAdminMethods.Join, new JoinRequest { Seed = seed }, cancellationToken);

    /// <summary>Makes a member (id or address; null: the node itself) leave; returns the member's id.</summary>
    public async Task<string> LeaveAsync(string? node = null, CancellationToken cancellationToken = default) =>
        (await CallAsync(ClusterAdminMethods.Leave, new LeaveRequest { Node = node ?? "" }, cancellationToken).ConfigureAwait(false)).Id;

    /// <summary>Downs a member (id or address); returns the member's id.</summary>
    public async Task<string> DownAsync(string node, CancellationToken cancellationToken = default) =>
        (await CallAsync(ClusterAdminMethods.Down, new DownRequest { Node = node }, cancellationToken).ConfigureAwait(false)).Id;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsChannel)
        {
            _channel.Dispose();
        }
    }

    private Task<TResponse> CallAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>
        where TResponse : class, Google.Protobuf.IMessage<TResponse> =>
        _channel.UnaryAsync(method, request, new GrpcCallOptions { Timeout = _timeout, CancellationToken = cancellationToken });
}
