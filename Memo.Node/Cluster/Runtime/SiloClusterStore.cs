using System.Collections.Immutable;
using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Node.Storage;
using W = Memo.Node.Cluster.Runtime.Wire;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// The node's cluster record in its silo's meta (key <c>cluster/local</c>, a <c>LocalClusterRecord</c>): its NodeId
/// and ring tokens (drawn once, at the first start), the network parameters, and the last membership state.
/// </summary>
public sealed class SiloClusterStore : IClusterStore
{
    /// <summary>The meta key.</summary>
    public const string MetaKey = "cluster/local";

    private readonly ISilo _silo;

    private SiloClusterStore(ISilo silo, NodeId node, ImmutableArray<ulong> tokens, NetworkParameters network, MembershipState? state)
    {
        _silo = silo;
        Node = node;
        Tokens = tokens;
        Network = network;
        State = state;
    }

    /// <summary>This node's id: a random non-zero number drawn at the first start.</summary>
    public NodeId Node { get; }

    /// <summary>This node's ring tokens, drawn with its id.</summary>
    public ImmutableArray<ulong> Tokens { get; }

    /// <summary>The network parameters as recorded when opened.</summary>
    public NetworkParameters Network { get; }

    /// <summary>The membership state recorded last; null when the node never formed or joined a cluster.</summary>
    public MembershipState? State { get; }

    /// <summary>
    /// Opens the record, creating it on the first start with a fresh NodeId, <paramref name="virtualNodes"/> ring
    /// tokens and <paramref name="configured"/> as the parameters. A record that exists keeps its id, tokens and
    /// parameters (the configured ones only matter for a new network).
    /// </summary>
    /// <exception cref="InvalidDataException">The record is unreadable: the data folder is damaged.</exception>
    public static async Task<SiloClusterStore> OpenAsync(ISilo silo, NetworkParameters configured, int virtualNodes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(configured);
        var bytes = await silo.ReadMetaAsync(MetaKey, cancellationToken).ConfigureAwait(false);
        if (bytes is not null)
        {
            W.LocalClusterRecord record;
            try
            {
                record = W.LocalClusterRecord.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new InvalidDataException($"The cluster record ({MetaKey}) in the silo is corrupt: {e.Message}", e);
            }
            if (record.Format != GossipCodec.Format || record.Node == 0)
            {
                throw new InvalidDataException($"The cluster record ({MetaKey}) has format {record.Format} and node {record.Node}; this node reads format {GossipCodec.Format}.");
            }
            MembershipState? state = null;
            if (record.State is not null && !GossipCodec.TryFromWire(record.State, out state, out var problem))
            {
                throw new InvalidDataException($"The membership state in the cluster record ({MetaKey}) is invalid: {problem}");
            }
            var network = new NetworkParameters(record.NetworkName, record.ShardCount, record.ReplicationFactor,
                TimeSpan.FromMilliseconds(record.EvictionDelayMs));
            return new SiloClusterStore(silo, new NodeId(record.Node), [.. record.Tokens], network, state);
        }

        var node = NewNodeId();
        var tokens = RingTokens.Draw(new DeterministicRandom(NewNodeId().Value), virtualNodes);
        var store = new SiloClusterStore(silo, node, tokens, configured, null);
        await store.WriteAsync(configured, null, cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <inheritdoc />
    public ValueTask SaveAsync(NetworkParameters network, MembershipState state, CancellationToken cancellationToken) =>
        new(WriteAsync(network, state, cancellationToken));

    private Task WriteAsync(NetworkParameters network, MembershipState? state, CancellationToken cancellationToken)
    {
        var record = new W.LocalClusterRecord
        {
            Format = GossipCodec.Format,
            Node = Node.Value,
            ShardCount = network.ShardCount,
            ReplicationFactor = network.ReplicationFactor,
            EvictionDelayMs = (long)network.EvictionDelay.TotalMilliseconds,
            NetworkName = network.Name,
            State = state is null ? null : GossipCodec.ToWire(state),
        };
        foreach (var token in Tokens)
        {
            record.Tokens.Add(token);
        }
        return _silo.CommitAsync(new SiloBatch().PutMeta(MetaKey, record.ToByteArray()), cancellationToken);
    }

    // Identity is drawn once per data folder from the OS generator: ids of different nodes must not collide, which a
    // seeded PRNG shared by tests would not guarantee.
    private static NodeId NewNodeId()
    {
        Span<byte> bytes = stackalloc byte[8];
        ulong value;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            value = BitConverter.ToUInt64(bytes);
        }
        while (value == 0);
        return new NodeId(value);
    }
}
