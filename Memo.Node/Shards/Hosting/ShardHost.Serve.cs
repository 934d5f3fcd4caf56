using Google.Protobuf;
using Memo.Node.Raft;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Replicated;
using Memo.Node.Shards.Scanning;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;

namespace Memo.Node.Shards.Hosting;

/// <summary>Serving proposals, reads and status with this node's replicas: the local half of forwarding (the gateway
/// calls it for shards led here; <see cref="ShardForwarder"/> calls it for other nodes).</summary>
public sealed partial class ShardHost
{
    /// <summary>Proposes a command to this node's replica of the shard; NOT_LEADER (with the hint) when it does not lead.</summary>
    public Task<ProposeReply> ServeProposeAsync(ShardId shard, ShardCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (RefuseProposal(shard, out var replica) is { } refused)
        {
            return Task.FromResult(refused);
        }
        Task<ShardGroupOutcome> proposal;
        try
        {
            proposal = replica!.ProposeAsync(command, cancellationToken);
        }
        catch (ShardGroupStoppedException e)
        {
            proposal = Task.FromException<ShardGroupOutcome>(e);
        }
        return ReplyOf(proposal);
    }

    /// <summary>
    /// Proposes an async write to this node's replica of the shard: <see cref="ServedProposal.Appended"/> answers
    /// APPENDED as soon as the leader's log holds it durably (or the final reply, when that comes first), and
    /// <see cref="ServedProposal.Final"/> answers as <see cref="ServeProposeAsync"/> does.
    /// </summary>
    public ServedProposal ServeProposeAcknowledgedAtAppend(ShardId shard, ShardCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (RefuseProposal(shard, out var replica) is { } refused)
        {
            var answer = Task.FromResult(refused);
            return new ServedProposal(answer, answer);
        }
        AppendedProposal proposal;
        try
        {
            proposal = replica!.ProposeAcknowledgedAtAppend(command, cancellationToken);
        }
        catch (ShardGroupStoppedException e)
        {
            var stopped = Task.FromException<ShardGroupOutcome>(e);
            proposal = new AppendedProposal(stopped, stopped);
        }
        return new ServedProposal(ReplyOf(proposal.Appended), ReplyOf(proposal.Outcome));
    }

    private ProposeReply? RefuseProposal(ShardId shard, out ShardGroupReplica? replica)
    {
        if (!_replicas.TryGetValue(shard, out replica))
        {
            return new ProposeReply { Status = ShardReplyStatus.NotLeader, Reason = $"no replica of shard {shard} on this node" };
        }
        return replica.Status.StopReason is { } stopped ? new ProposeReply { Status = ShardReplyStatus.Dropped, Reason = stopped } : null;
    }

    private static async Task<ProposeReply> ReplyOf(Task<ShardGroupOutcome> proposal)
    {
        ShardGroupOutcome outcome;
        try
        {
            outcome = await proposal.ConfigureAwait(false);
        }
        catch (ShardGroupStoppedException e)
        {
            // The replica stopped while the proposal was queued or pending: it may have been appended and may still
            // commit on the other replicas, so retrying could apply it twice.
            return new ProposeReply { Status = ShardReplyStatus.Unknown, Reason = e.Message };
        }
        return outcome switch
        {
            ShardGroupOutcome.Applied applied => new ProposeReply { Status = ShardReplyStatus.Applied, Result = ShardResultCodec.Encode(applied.Result) },
            ShardGroupOutcome.Appended => new ProposeReply { Status = ShardReplyStatus.Appended },
            ShardGroupOutcome.NotLeader notLeader => new ProposeReply { Status = ShardReplyStatus.NotLeader, LeaderHint = notLeader.LeaderHint.Value },
            ShardGroupOutcome.Dropped dropped => new ProposeReply { Status = ShardReplyStatus.Dropped, Reason = dropped.Reason },
            ShardGroupOutcome.Superseded => new ProposeReply { Status = ShardReplyStatus.Superseded },
            ShardGroupOutcome.Unknown => new ProposeReply { Status = ShardReplyStatus.Unknown },
            ShardGroupOutcome.Invalid invalid => new ProposeReply { Status = ShardReplyStatus.Invalid, Reason = invalid.Reason },
            _ => new ProposeReply { Status = ShardReplyStatus.Invalid, Reason = $"unexpected outcome {outcome}" },
        };
    }

    /// <summary>The status of every replica hosted here, as peers poll it (<see cref="LocalReports"/> on the wire).</summary>
    public ReplicaStatusReply ServeStatus()
    {
        var reply = new ReplicaStatusReply { Node = _self.Value };
        foreach (var report in LocalReports())
        {
            var message = new ReplicaStatusMessage
            {
                Shard = (uint)report.Shard.Value,
                IsLeader = report.IsLeader,
                Leader = report.Leader.Value,
                Term = report.Term.Value,
                Applied = report.Applied.Value,
            };
            message.Voters.AddRange(report.Membership.Voters.Select(v => v.Value));
            message.Learners.AddRange(report.Membership.Learners.Select(l => l.Value));
            if (report.Usage is { } usage)
            {
                message.Usage = new ReplicaUsageMessage
                {
                    Entries = (ulong)usage.Entries, EntryBytes = (ulong)usage.EntryBytes, Blocks = (ulong)usage.Blocks, BlockBytes = (ulong)usage.BlockBytes,
                    Copies = (ulong)usage.Copies, CopyBytes = (ulong)usage.CopyBytes, LogEntries = (ulong)usage.LogEntries, LogBytes = (ulong)usage.LogBytes,
                };
            }
            reply.Replicas.Add(message);
        }
        return reply;
    }

    /// <summary>
    /// A linearizable read with this node's replica (ReadIndex, then the silo): an entry or a block of one shard, or a
    /// scan over the listed shards this node leads (the others come back in <c>not_led</c>).
    /// </summary>
    public async Task<ReadReply> ServeReadAsync(ReadRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.QueryCase == ReadRequest.QueryOneofCase.Scan)
        {
            return await ServeScanAsync(request.Scan, cancellationToken).ConfigureAwait(false);
        }
        if (request.Shard >= (uint)Layout.ShardCount)
        {
            return new ReadReply { Status = ShardReplyStatus.Invalid, Reason = $"no shard {request.Shard}" };
        }
        var shard = new ShardId((int)request.Shard);
        if (request.Stale)
        {
            if (!TryGetReplica(shard, out var replica) || !CanServeStale(replica.Status))
            {
                // No copy here to answer from: the caller tries its next candidate (the hint when there is one).
                return new ReadReply { Status = ShardReplyStatus.NotLeader, LeaderHint = LeaderReport(shard)?.Node.Value ?? 0 };
            }
            // Stale, yet never older than what this replica has acknowledged.
            await replica.AnsweredWritesStored.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var (ready, refusal) = await ReadIndexAsync(shard, cancellationToken).ConfigureAwait(false);
            if (!ready)
            {
                return refusal!;
            }
        }
        byte[]? data;
        switch (request.QueryCase)
        {
            case ReadRequest.QueryOneofCase.EntryKey:
                data = WithoutReclaimKey(await _silo.ReadEntryAsync(request.EntryKey, cancellationToken).ConfigureAwait(false));
                break;
            case ReadRequest.QueryOneofCase.BlockAddress when BlockAddress.TryFromBytes(request.BlockAddress.Span, out var address):
                data = await _silo.ReadBlockAsync(address, cancellationToken).ConfigureAwait(false);
                break;
            default:
                return new ReadReply { Status = ShardReplyStatus.Invalid, Reason = "the read names no entry, block or scan" };
        }
        return data is null
            ? new ReadReply { Status = ShardReplyStatus.ReadDone }
            : new ReadReply { Status = ShardReplyStatus.ReadDone, Found = true, Data = UnsafeByteOperations.UnsafeWrap(data) };
    }

    /// <summary>
    /// What <see cref="ServeReadAsync"/> answers for one entry of <paramref name="shard"/> (this node's gateway, reading
    /// at a replica it believes leads), without the request and reply messages: Served false when this replica did not
    /// confirm the read (not the leader, dropped, no replica), else the entry without its reclaim keys, or null when
    /// missing.
    /// </summary>
    public async ValueTask<(bool Served, byte[]? Entry)> ServeEntryReadAsync(ShardId shard, string key, CancellationToken cancellationToken)
    {
        var (ready, _) = await ReadIndexAsync(shard, cancellationToken).ConfigureAwait(false);
        return ready ? (true, WithoutReclaimKey(await _silo.ReadEntryAsync(key, cancellationToken).ConfigureAwait(false))) : (false, null);
    }

    /// <summary>
    /// True when a replica may answer a stale read from its copy: it runs and has applied the group's state at least
    /// once. A replica created on this node that still waits for its first snapshot holds nothing, and would answer
    /// "missing" for every key.
    /// </summary>
    public static bool CanServeStale(ShardGroupStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return status.StopReason is null && status.Applied > LogIndex.Zero && !status.Membership.Voters.IsEmpty;
    }

    private async Task<ReadReply> ServeScanAsync(ScanQuery query, CancellationToken cancellationToken)
    {
        var reply = new ReadReply { Status = ShardReplyStatus.ReadDone };
        var requested = query.Shards.Where(s => s < (uint)Layout.ShardCount).Distinct().Select(s => new ShardId((int)s)).ToList();
        var confirmations = await Task.WhenAll(requested.Select(async shard => (Shard: shard, (await ReadIndexAsync(shard, cancellationToken).ConfigureAwait(false)).Ready)))
            .ConfigureAwait(false);
        var led = confirmations.Where(c => c.Ready).Select(c => c.Shard).ToHashSet();
        reply.NotLed.AddRange(confirmations.Where(c => !c.Ready).Select(c => (uint)c.Shard.Value));
        if (led.Count == 0)
        {
            return reply;
        }
        // One walk of the silo serves every shard led here; other shards' (possibly stale) entries are passed over.
        var scan = ShardScanWire.FromQuery(query, out var problem);
        if (scan is null)
        {
            return new ReadReply { Status = ShardReplyStatus.Invalid, Reason = problem };
        }
        var result = await SiloKeyScan.RunAsync(_silo, scan, entry => led.Contains(Layout.ShardOf(entry.Key)), cancellationToken).ConfigureAwait(false);
        ShardScanWire.ToReply(result, reply);
        return reply;
    }

    // A reader of an entry needs its value, never the key that unlocks the reclaim of its value block: that key is
    // handed only to whoever replaces or deletes the entry (ReclaimKeys). Served reads may go to other nodes' callers.
    private static byte[]? WithoutReclaimKey(byte[]? stored)
    {
        if (stored is null)
        {
            return null;
        }
        if (!KvEntryReclaimKeys.MayHoldAny(stored))
        {
            return stored;
        }
        var entry = KvEntry.Parser.ParseFrom(stored);
        if (entry.ReclaimKey.IsEmpty && (entry.OlderVersions.Count == 0 || entry.OlderVersions.All(older => older.ReclaimKey.IsEmpty)))
        {
            return stored;
        }
        entry.ReclaimKey = ByteString.Empty;
        // The kept older versions' keys too: their blocks are reclaimed by whoever prunes them (KeyValueStore).
        foreach (var older in entry.OlderVersions)
        {
            older.ReclaimKey = ByteString.Empty;
        }
        return entry.ToByteArray();
    }

    private async ValueTask<(bool Ready, ReadReply? Refusal)> ReadIndexAsync(ShardId shard, CancellationToken cancellationToken)
    {
        if (!_replicas.TryGetValue(shard, out var replica))
        {
            return (false, new ReadReply { Status = ShardReplyStatus.NotLeader, Reason = $"no replica of shard {shard} on this node" });
        }
        if (replica.TryReadAlone() is { } stored)
        {
            // The group's only voter between turns: what ReadIndex would confirm is already in the silo, once the writes
            // it answered are (usually already so).
            await stored.WaitAsync(cancellationToken).ConfigureAwait(false);
            return (true, null);
        }
        try
        {
            return await replica.ReadIndexAsync(cancellationToken).ConfigureAwait(false) switch
            {
                ShardGroupOutcome.ReadReady => (true, null),
                ShardGroupOutcome.NotLeader notLeader => (false, new ReadReply { Status = ShardReplyStatus.NotLeader, LeaderHint = notLeader.LeaderHint.Value }),
                ShardGroupOutcome.Dropped dropped => (false, new ReadReply { Status = ShardReplyStatus.Dropped, Reason = dropped.Reason }),
                var other => (false, new ReadReply { Status = ShardReplyStatus.Dropped, Reason = other.ToString() }),
            };
        }
        catch (ShardGroupStoppedException e)
        {
            return (false, new ReadReply { Status = ShardReplyStatus.Dropped, Reason = e.Message });
        }
    }
}
