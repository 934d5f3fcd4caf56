using System.Diagnostics;
using Google.Protobuf;
using Memo.Node.Configuration;
using Memo.Node.Shards;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Hosting;
using Memo.Node.Shards.Scanning;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Routing;

/// <summary>
/// Routes the stores' commands and reads to each shard's Raft group: to this node's replica when it leads the shard,
/// otherwise to the leader's node over the peer links (<see cref="ShardForwarder"/>).
/// </summary>
/// <remarks>
/// <para>Design note (docs/ARCHITECTURE.md, "Routing"). The first target is the local replica if it leads, else its
/// leader hint, else the best leader report, else the first node of the ring's replica set. A NOT_LEADER answer
/// moves to its hint (or, without one, to the next candidate after a back-off); DROPPED and SUPERSEDED mean "not
/// done" and are retried after a back-off. Attempts are bounded in number and by the earlier of the caller's
/// deadline and <see cref="ClusterShardGatewayOptions.RequestTimeout"/>.</para>
/// <para>Never claim success that did not happen. The links are lossy, so a forwarded request is in one of three
/// states: answered; certainly not sent (no address, link known down or refused, forwarder stopped), which is retried
/// at the next candidate; or sent without an answer. Reads change nothing, so each read attempt waits at most
/// <see cref="ClusterShardGatewayOptions.AttemptTimeout"/> and then tries again; so do commands that are safe to
/// repeat (storing an immutable block, reclaiming one). Any other command waits for its answer until the deadline
/// and then ends with UNAVAILABLE "outcome unknown", as does an UNKNOWN answer.</para>
/// </remarks>
public sealed partial class ClusterShardGateway : IShardGateway
{
    private readonly ShardHost _host;
    private readonly ShardForwarder _forwarder;
    private readonly ClusterShardGatewayOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the gateway over this node's shard host (and its <see cref="ShardHost.Forwarder"/>).</summary>
    public ClusterShardGateway(ShardHost host, ClusterShardGatewayOptions options, ILogger<ClusterShardGateway> logger)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } problems)
        {
            throw new ArgumentException("Invalid gateway options: " + string.Join("; ", problems), nameof(options));
        }
        _host = host;
        _forwarder = host.Forwarder;
        _options = options;
        _logger = logger;
    }

    /// <inheritdoc />
    public ShardLayout Layout => _host.Layout;

    /// <inheritdoc />
    public Task<ShardResult> ProposeAsync(ShardId shard, ShardCommand command, CancellationToken cancellationToken = default) =>
        ProposeCoreAsync(shard, command, appended: null, cancellationToken);

    /// <inheritdoc />
    public AppendedWrite ProposeAcknowledgedAtAppend(ShardId shard, ShardCommand command, CancellationToken cancellationToken = default)
    {
        var appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var committed = ProposeCoreAsync(shard, command, appended, cancellationToken);
        return new AppendedWrite(AppendedWrite.FirstOfAsync(appended.Task, committed), committed);
    }

    // With `appended` (an async write) the leader is asked to answer at its durable append too: `appended` completes
    // then, and the loop goes on to the final answer. Once acknowledged, a write is never retried: a retry after
    // a newer write was acknowledged would reorder them, so an acknowledged write that does not commit ends with
    // an exception (counted and logged by the leader, ARCHITECTURE.md "Policies: write consistency").
    private async Task<ShardResult> ProposeCoreAsync(ShardId shard, ShardCommand command, TaskCompletionSource? appended, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        ShardStateMachine.TargetOf(command); // a caller bug must not travel
        var repeatable = IsRepeatable(command);
        // Encoded once; every forwarded attempt wraps the same bytes.
        var request = new ProposeRequest { Format = 1, Shard = (uint)shard.Value, Command = command.ToByteString(), AcknowledgeAtAppend = appended is not null };
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        var route = new Route(this, shard);
        var sent = false;
        try
        {
            for (var attempt = 0; attempt < _options.MaxAttempts; attempt++)
            {
                var target = route.Target;
                ProposeReply reply;
                if (target == _host.Self)
                {
                    sent = true;
                    reply = appended is null
                        ? await _host.ServeProposeAsync(shard, command, deadline.Token).ConfigureAwait(false)
                        : await ServeLocallyAcknowledgedAtAppendAsync(shard, command, appended, deadline.Token).ConfigureAwait(false);
                }
                else
                {
                    // A command that must not be repeated waits for its answer as long as the request may take.
                    var wait = repeatable
                        ? _options.AttemptTimeout
                        : TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, (_options.RequestTimeout - Stopwatch.GetElapsedTime(started)).Ticks));
                    // Counted as sent while the call is out: the deadline may end it before its fate is known.
                    var sentBefore = sent;
                    sent = true;
                    var call = await _forwarder.ProposeAsync(target, request, wait, deadline.Token, appended).ConfigureAwait(false);
                    switch (call.Fate)
                    {
                        case ForwardedCallFate.Answered:
                            reply = call.Answer!;
                            break;
                        case ForwardedCallFate.NotSent:
                            sent = sentBefore;
                            LogForwardFailed(shard, target, "not sent (no address, or the link is down)");
                            reply = new ProposeReply { Status = ShardReplyStatus.Dropped };
                            route.Unreachable();
                            break;
                        case ForwardedCallFate.TooLarge:
                            sent = sentBefore;
                            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                                $"Shard {shard}: the command of {request.Command.Length} bytes is too large to forward to its leader."));
                        default:
                            // Sent, unanswered: it may have been applied, so only a repeatable command is tried again.
                            if (!repeatable)
                            {
                                throw OutcomeUnknown(shard, $"node {target} did not answer within the deadline");
                            }
                            LogForwardFailed(shard, target, "no answer");
                            reply = new ProposeReply { Status = ShardReplyStatus.Dropped };
                            route.Unreachable();
                            break;
                    }
                }
                if (appended is { Task.IsCompleted: true } && reply.Status != ShardReplyStatus.Applied)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable,
                        $"Shard {shard}: an async write acknowledged at its leader's append was not committed ({reply.Status} {reply.Reason})."));
                }
                switch (reply.Status)
                {
                    case ShardReplyStatus.Applied:
                        return ShardResultCodec.Decode(reply.Result)
                            ?? throw new RpcException(new Status(StatusCode.Internal, $"Shard {shard}: the leader answered with a malformed result."));
                    case ShardReplyStatus.NotLeader:
                        if (route.Redirect(new NodeId(reply.LeaderHint)))
                        {
                            continue;
                        }
                        break;
                    case ShardReplyStatus.Unknown when !repeatable:
                        throw OutcomeUnknown(shard, reply.Reason.Length > 0
                            ? reply.Reason
                            : "a new leader's snapshot covered the proposal before it was seen committed");
                    case ShardReplyStatus.Invalid:
                        throw new RpcException(new Status(StatusCode.Internal, $"Shard {shard} refused the command as invalid: {reply.Reason}"));
                }
                await Task.Delay(route.NextBackoff(), deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            if (sent && !repeatable)
            {
                throw OutcomeUnknown(shard, "no answer within the deadline");
            }
        }
        throw new RpcException(new Status(StatusCode.Unavailable, $"Shard {shard}: no leader accepted the command within {_options.RequestTimeout.TotalSeconds:F0} s or {_options.MaxAttempts} attempts."));
    }

    /// <inheritdoc />
    public void Reclaim(BlockAddress address, ReadOnlyMemory<byte> reclaimKey) => _ = ReclaimAsync(address, ByteString.CopyFrom(reclaimKey.Span));

    /// <inheritdoc />
    public async ValueTask<byte[]?> ReadEntryAsync(string key, ReadConsistency? consistency, CancellationToken cancellationToken = default)
    {
        var shard = Layout.ShardOf(key);
        var stale = consistency is { } chosen ? chosen == ReadConsistency.Stale : _options.StaleReads;
        if (stale && _host.TryGetReplica(shard, out var local) && ShardHost.CanServeStale(local.Status))
        {
            // Stale, yet never older than what this node's replica has acknowledged (it may answer a write while the
            // write's application is still on its way to the silo).
            await local.AnsweredWritesStored.WaitAsync(cancellationToken).ConfigureAwait(false);
            return await _host.Silo.ReadEntryAsync(key, cancellationToken).ConfigureAwait(false);
        }
        if (!stale && cancellationToken.CanBeCanceled && _host.TryGetReplica(shard, out var replica) && replica.Status.IsLeader)
        {
            // This node leads the shard: the route's first target, served without the request and reply messages, the
            // route and the deadline below (a timer per read). Bounded by the caller's deadline (a gRPC call always has
            // one, memo.grpc.default-deadline) and the replica's read timeout; a read it does not serve (leadership
            // moved) goes on through the route as any read does.
            var (served, entry) = await _host.ServeEntryReadAsync(shard, key, cancellationToken).ConfigureAwait(false);
            if (served)
            {
                return entry;
            }
        }
        // Stale without a usable local replica: the first replica that answers serves it from its copy.
        var reply = await ReadAsync(shard, new ReadRequest { EntryKey = key, Stale = stale }, cancellationToken).ConfigureAwait(false);
        return reply.Found ? OwnedArray(reply.Data) : null;
    }

    // The reply's bytes, not copied again: a reply served here wraps the array the silo handed out (a copy of its own),
    // and one parsed from a peer's answer owns a fresh copy; nobody sees either once the reply is dropped.
    private static byte[] OwnedArray(ByteString data) => ByteStringArrays.TakeArray(data);

    /// <inheritdoc />
    public async ValueTask<byte[]?> ReadBlockAsync(BlockAddress address, bool linearizable, CancellationToken cancellationToken = default)
    {
        if (!linearizable)
        {
            return await _host.Silo.ReadBlockAsync(address, cancellationToken).ConfigureAwait(false);
        }
        var reply = await ReadAsync(Layout.ShardOf(address), new ReadRequest { BlockAddress = ByteString.CopyFrom(address.ToArray()) }, cancellationToken)
            .ConfigureAwait(false);
        return reply.Found ? OwnedArray(reply.Data) : null;
    }

    /// <inheritdoc />
    public Task StoreImmutableBlockAsync(Memo.Protocol.ValueStore.Block block, CancellationToken cancellationToken = default) =>
        _host.Copies.StoreAsync(block, cancellationToken);

    /// <inheritdoc />
    public ValueTask<Memo.Protocol.ValueStore.Block?> ReadImmutableBlockAsync(BlockAddress address, CancellationToken cancellationToken = default) =>
        _host.Copies.ReadAsync(address, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<KeyScanPage> ScanAsync(KeyScan scan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scan);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        var remaining = Layout.AllShards.ToHashSet();
        var parts = new List<KeyScanResult>();
        var backoff = _options.MinBackoff;
        for (var attempt = 0; remaining.Count > 0; attempt++)
        {
            if (attempt >= _options.MaxAttempts)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"Listing: no leader answered for shards {string.Join(",", remaining)}."));
            }
            var byLeader = remaining.GroupBy(shard => new Route(this, shard).Target).ToList();
            (IReadOnlyList<ShardId> Served, KeyScanResult? Found)[] answers;
            try
            {
                answers = await Task.WhenAll(byLeader.Select(group => ScanAtAsync(group.Key, group.ToList(), scan, deadline.Token))).ConfigureAwait(false);
                if (remaining.Count > answers.Sum(a => a.Served.Count))
                {
                    await Task.Delay(backoff, deadline.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"Listing: no leader answered for shards {string.Join(",", remaining)} within {_options.RequestTimeout.TotalSeconds:F0} s."));
            }
            foreach (var (served, found) in answers)
            {
                remaining.ExceptWith(served);
                if (found is not null)
                {
                    parts.Add(found);
                }
            }
            if (remaining.Count > 0)
            {
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
            }
        }
        return KeyScanMerge.Merge(parts, scan.Limit);
    }

    private async Task<(IReadOnlyList<ShardId> Served, KeyScanResult? Found)> ScanAtAsync(
        NodeId node, List<ShardId> shards, KeyScan scan, CancellationToken cancellationToken)
    {
        var query = ShardScanWire.ToQuery(scan);
        query.Shards.AddRange(shards.Select(s => (uint)s.Value));
        var request = new ReadRequest { Format = 1, Scan = query };
        ReadReply reply;
        if (node == _host.Self || node.IsNone)
        {
            reply = await _host.ServeReadAsync(request, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var call = await _forwarder.ReadAsync(node, request, _options.AttemptTimeout, cancellationToken).ConfigureAwait(false);
            if (call.Answer is null)
            {
                // Not sent or unanswered: these shards are asked again in the next round.
                LogForwardFailed(shards[0], node, call.Fate.ToString());
                return ([], null);
            }
            reply = call.Answer;
        }
        if (reply.Status != ShardReplyStatus.ReadDone)
        {
            return ([], null);
        }
        var notLed = reply.NotLed.Select(s => new ShardId((int)s)).ToHashSet();
        var served = shards.Where(s => !notLed.Contains(s)).ToList();
        return (served, served.Count == 0 ? null : ShardScanWire.FromReply(reply));
    }

    private async Task<ReadReply> ReadAsync(ShardId shard, ReadRequest request, CancellationToken cancellationToken)
    {
        request.Format = 1;
        request.Shard = (uint)shard.Value;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        var route = new Route(this, shard);
        try
        {
            for (var attempt = 0; attempt < _options.MaxAttempts; attempt++)
            {
                var target = route.Target;
                ReadReply reply;
                if (target == _host.Self)
                {
                    reply = await _host.ServeReadAsync(request, deadline.Token).ConfigureAwait(false);
                }
                else
                {
                    var call = await _forwarder.ReadAsync(target, request, _options.AttemptTimeout, deadline.Token).ConfigureAwait(false);
                    if (call.Answer is { } answer)
                    {
                        reply = answer;
                    }
                    else
                    {
                        // Not sent, or lost on the way there or back: reads change nothing, so any of them is retried.
                        LogForwardFailed(shard, target, call.Fate.ToString());
                        reply = new ReadReply { Status = ShardReplyStatus.Dropped };
                        route.Unreachable();
                    }
                }
                switch (reply.Status)
                {
                    case ShardReplyStatus.ReadDone:
                        return reply;
                    case ShardReplyStatus.NotLeader when route.Redirect(new NodeId(reply.LeaderHint)):
                        continue;
                    case ShardReplyStatus.Invalid:
                        throw new RpcException(new Status(StatusCode.Internal, $"Shard {shard} refused the read: {reply.Reason}"));
                }
                await Task.Delay(route.NextBackoff(), deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Our own time limit, not the caller's.
        }
        throw new RpcException(new Status(StatusCode.Unavailable, $"Shard {shard}: no leader confirmed the read within {_options.RequestTimeout.TotalSeconds:F0} s."));
    }

    private async Task ReclaimAsync(BlockAddress address, ByteString reclaimKey)
    {
        try
        {
            // An erasure-coded block is in no replica's silo: the reclaim carries it, so the shard can check the key
            // against its salt and record its removal, which tells the fragment holders to drop their fragments.
            var coded = _host.Copies.IsCoding ? await _host.Copies.ReadFromFragmentsAsync(address).ConfigureAwait(false) : null;
            var result = await ProposeAsync(Layout.ShardOf(address), new ShardCommand
            {
                Format = ShardStateMachine.Format,
                ReclaimBlock = new ReclaimBlock { Address = ByteString.CopyFrom(address.ToArray()), ReclaimKey = reclaimKey, Block = coded },
            }).ConfigureAwait(false);
            if (result is ShardResult.Refused refused)
            {
                LogReclaimFailed(address.ToString(), refused.Reason);
            }
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or ObjectDisposedException)
        {
            // A lost reclaim leaves an unreferenced block (garbage), never a dangling entry.
            LogReclaimFailed(address.ToString(), e is RpcException rpc ? rpc.Status.Detail : e.Message);
        }
    }

    // Storing an immutable block twice stores it once (BlockAlreadyStored), and reclaiming twice removes it once.
    private async Task<ProposeReply> ServeLocallyAcknowledgedAtAppendAsync(ShardId shard, ShardCommand command, TaskCompletionSource appended, CancellationToken cancellationToken)
    {
        var served = _host.ServeProposeAcknowledgedAtAppend(shard, command, cancellationToken);
        var first = await served.Appended.ConfigureAwait(false);
        if (first.Status != ShardReplyStatus.Appended)
        {
            return first;
        }
        appended.TrySetResult();
        return await served.Final.ConfigureAwait(false);
    }

    private static bool IsRepeatable(ShardCommand command) => command.CommandCase switch
    {
        ShardCommand.CommandOneofCase.InsertBlock => BlockAddress.TryFromBytes(command.InsertBlock.Block.Address.Span, out var a) && a.IsImmutable,
        ShardCommand.CommandOneofCase.ReclaimBlock => true,
        _ => false,
    };

    private static RpcException OutcomeUnknown(ShardId shard, string why) =>
        new(new Status(StatusCode.Unavailable, $"Shard {shard}: outcome unknown ({why}); the write may or may not have been applied."));
}
