using System.Collections.Immutable;
using System.Security.Cryptography;
using Google.Protobuf;
using Memo.Node.Storage;
using Memo.Node.Storage.Policies;
using W = Memo.Node.Cluster.Runtime.Wire;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// The node's cluster record in its silo's meta (key <c>cluster/local</c>, a <c>LocalClusterRecord</c>): its NodeId
/// and ring tokens (drawn once, at the first start), the network parameters, and the remoting endpoints of the members
/// it last knew.
/// </summary>
public sealed class SiloClusterStore : IClusterStore
{
    /// <summary>The meta key.</summary>
    public const string MetaKey = "cluster/local";

    // The record's format; this version writes and reads 1.
    private const uint Format = 1;

    private readonly ISilo _silo;

    private SiloClusterStore(ISilo silo, NodeId node, ImmutableArray<ulong> tokens, NetworkParameters network, ImmutableArray<string> knownMembers)
    {
        _silo = silo;
        Node = node;
        Tokens = tokens;
        Network = network;
        KnownMembers = knownMembers;
    }

    /// <summary>This node's id: a random non-zero number drawn at the first start.</summary>
    public NodeId Node { get; }

    /// <summary>This node's ring tokens, drawn with its id.</summary>
    public ImmutableArray<ulong> Tokens { get; }

    /// <summary>The network parameters as recorded when opened.</summary>
    public NetworkParameters Network { get; }

    /// <summary>The remoting endpoints of the members recorded last; empty when the node never was Up in a cluster.</summary>
    public ImmutableArray<string> KnownMembers { get; }

    /// <summary>Opens the record as <see cref="OpenAsync(ISilo, NetworkParameters, int, NodeId, CancellationToken)"/>
    /// does, drawing the NodeId of a new record.</summary>
    public static Task<SiloClusterStore> OpenAsync(ISilo silo, NetworkParameters configured, int virtualNodes, CancellationToken cancellationToken) =>
        OpenAsync(silo, configured, virtualNodes, NodeId.None, cancellationToken);

    /// <summary>
    /// Opens the record, creating it on the first start with a fresh NodeId, <paramref name="virtualNodes"/> ring
    /// tokens and <paramref name="configured"/> as the parameters. A record that exists keeps its id, tokens and
    /// parameters (the configured ones only matter for a new network); a record written before the Raft timing was
    /// recorded takes the configured timing and is rewritten with it (and so does one from before versioning, with the
    /// configured count of versions).
    /// </summary>
    /// <param name="silo">The silo holding the record.</param>
    /// <param name="configured">The network parameters for a new record.</param>
    /// <param name="virtualNodes">Ring tokens to draw for a new record.</param>
    /// <param name="presetNode">The NodeId a new record takes instead of a drawn one (the NodeId of the node's
    /// certificate, issued before its first start); <see cref="NodeId.None"/> to draw one.</param>
    /// <param name="cancellationToken">Cancels the read or write.</param>
    /// <exception cref="InvalidDataException">The record is unreadable: the data folder is damaged.</exception>
    public static async Task<SiloClusterStore> OpenAsync(ISilo silo, NetworkParameters configured, int virtualNodes, NodeId presetNode,
        CancellationToken cancellationToken)
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
            if (record.Format != Format || record.Node == 0)
            {
                throw new InvalidDataException($"The cluster record ({MetaKey}) has format {record.Format} and node {record.Node}; this node reads format {Format}.");
            }
            // A folder from before the timing was recorded adopts the configured timing, once: the network it belongs
            // to ran with whatever its nodes were configured with, and from now on that value is fixed.
            var timing = record.TickIntervalUs > 0 && record.ElectionTicks > 0 && record.LeaseReads is 1 or 2
                ? new RaftTiming(TimeSpan.FromTicks(record.TickIntervalUs * TimeSpan.TicksPerMicrosecond), record.ElectionTicks, record.LeaseReads == 2)
                : null;
            // A folder from before data policies stored its records unframed: it keeps none, whatever is configured.
            var policies = record.Compression is >= 1 and <= 3 && record.EncryptAtRest is 1 or 2
                ? new DataPolicies((ValueCompression)(record.Compression - 1), record.EncryptAtRest == 2)
                : DataPolicies.None;
            // Likewise a folder from before versioning adopts the configured count of versions, once.
            // The owner is recorded at creation; a record without one is a network without an owner, whatever is configured.
            Memo.Protocol.Blocks.MemoPublicKey? owner = null;
            if (!record.Owner.IsEmpty && !Memo.Protocol.Blocks.MemoPublicKey.TryFromSpki(record.Owner.Span, out owner))
            {
                throw new InvalidDataException($"The cluster record ({MetaKey}) holds an owner key that is not a P-256 public key.");
            }
            // Erasure coding is recorded at creation; a record without it is a network without it, whatever is configured.
            var erasure = record.ErasureDataFragments > 0
                ? new Memo.Node.Erasure.ErasureCoding(record.ErasureDataFragments, record.ErasureParityFragments, record.ErasureThreshold)
                : Memo.Node.Erasure.ErasureCoding.Off;
            var network = new NetworkParameters(record.NetworkName, record.ShardCount, record.ReplicationFactor,
                TimeSpan.FromMilliseconds(record.EvictionDelayMs), timing ?? configured.Timing, policies,
                record.Versions > 0 ? record.Versions : configured.Versions, owner, erasure);
            var opened = new SiloClusterStore(silo, new NodeId(record.Node), [.. record.Tokens], network, [.. record.KnownMembers]);
            if (timing is null || record.Compression == 0 || record.Versions <= 0)
            {
                await opened.WriteAsync(opened.KnownMembers, cancellationToken).ConfigureAwait(false);
            }
            return opened;
        }

        var node = presetNode.IsNone ? NewNodeId() : presetNode;
        var tokens = RingTokens.Draw(new DeterministicRandom(NewNodeId().Value), virtualNodes);
        var store = new SiloClusterStore(silo, node, tokens, configured, []);
        await store.WriteAsync([], cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <inheritdoc />
    public ValueTask SaveMembersAsync(IReadOnlyList<string> remoteAddresses, CancellationToken cancellationToken) =>
        new(WriteAsync(remoteAddresses, cancellationToken));

    private Task WriteAsync(IReadOnlyList<string> knownMembers, CancellationToken cancellationToken)
    {
        var network = Network;
        var record = new W.LocalClusterRecord
        {
            Format = Format,
            Node = Node.Value,
            ShardCount = network.ShardCount,
            ReplicationFactor = network.ReplicationFactor,
            EvictionDelayMs = (long)network.EvictionDelay.TotalMilliseconds,
            NetworkName = network.Name,
            TickIntervalUs = network.Timing.TickInterval.Ticks / TimeSpan.TicksPerMicrosecond,
            ElectionTicks = network.Timing.ElectionTicks,
            LeaseReads = network.Timing.LeaseReads ? 2 : 1,
            Compression = (int)network.DataPolicies.Compression + 1,
            EncryptAtRest = network.DataPolicies.EncryptAtRest ? 2 : 1,
            Versions = network.Versions,
            Owner = network.Owner is null ? ByteString.Empty : ByteString.CopyFrom(network.Owner.Spki.Span),
            ErasureDataFragments = network.ErasureCoding.DataFragments,
            ErasureParityFragments = network.ErasureCoding.ParityFragments,
            ErasureThreshold = network.ErasureCoding.IsOn ? network.ErasureCoding.Threshold : 0,
        };
        record.KnownMembers.AddRange(knownMembers);
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
