using Akka.Actor;
using Memo.Admin;
using Memo.Admin.Wire;
using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Shards.Hosting;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Admin;

// Design note: the node's side of `memo cluster ...` (docs/ARCHITECTURE.md, "Admin over remoting").
//
// One admin actor per node, /user/memo-admin on the node's ActorSystem, reached over Akka remoting (the remoting port,
// never the public gRPC port). It answers each AdminRequest with exactly one AdminReply carrying the request's
// correlation id: Show and Shards from the published ClusterView (and the shard host's leader reports), Join, Leave
// and Down through ClusterMembership, whose outcome becomes the same error kinds the gRPC admin service answered with.
// It holds no state, so a request that throws (a bug) is answered INTERNAL and the actor goes on; bad input is
// INVALID_ARGUMENT. A reply that would not fit in one remoting frame is answered with an error instead of being
// dropped by Akka (the client would otherwise wait until its time limit).

/// <summary>
/// The node's admin actor: answers the <c>memo cluster</c> requests (<see cref="AdminRequest"/>) that arrive over Akka
/// remoting with an <see cref="AdminReply"/> to the sender.
/// </summary>
public sealed partial class AdminActor : ReceiveActor
{
    private readonly ClusterMembership _cluster;
    private readonly Func<ShardId, ReplicaReport?>? _leaderOf;
    private readonly Func<IReadOnlyList<ReplicaReport>>? _localReplicas;
    private readonly long _maxReplyBytes;
    private readonly ILogger _logger;

    /// <summary>Creates the actor.</summary>
    /// <param name="cluster">The node's membership: its view and the changes.</param>
    /// <param name="leaderOf">A shard's best leader report (the shard host's); null when the node hosts no shards.</param>
    /// <param name="maxReplyBytes">The largest reply that fits one remoting frame.</param>
    /// <param name="logger">Where failures are logged.</param>
    /// <param name="localReplicas">The replicas this node hosts, now (the shard host's); null when it hosts none.</param>
    public AdminActor(ClusterMembership cluster, Func<ShardId, ReplicaReport?>? leaderOf, long maxReplyBytes, ILogger logger,
        Func<IReadOnlyList<ReplicaReport>>? localReplicas = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxReplyBytes, 0);
        _cluster = cluster;
        _leaderOf = leaderOf;
        _localReplicas = localReplicas;
        _maxReplyBytes = maxReplyBytes;
        _logger = logger;
        Receive<AdminRequest>(Answer);
    }

    /// <summary>Props for <see cref="AdminActor"/>; create it as <see cref="AdminWire.ActorName"/> under <c>/user</c>.</summary>
    public static Props Props(ClusterMembership cluster, Func<ShardId, ReplicaReport?>? leaderOf, long maxReplyBytes, ILogger logger,
        Func<IReadOnlyList<ReplicaReport>>? localReplicas = null) =>
        Akka.Actor.Props.Create(() => new AdminActor(cluster, leaderOf, maxReplyBytes, logger, localReplicas));

    private void Answer(AdminRequest request)
    {
        var id = request.CorrelationId;
        var sender = Sender;
        try
        {
            switch (request.RequestCase)
            {
                case AdminRequest.RequestOneofCase.Show:
                    Reply(sender, new AdminReply { CorrelationId = id, Show = AdminAnswers.Show(_cluster.View) });
                    break;
                case AdminRequest.RequestOneofCase.Shards:
                    Reply(sender, new AdminReply { CorrelationId = id, Shards = AdminAnswers.Shards(_cluster.View, _leaderOf, _localReplicas?.Invoke()) });
                    break;
                case AdminRequest.RequestOneofCase.Join:
                    var seed = request.Join.Seed;
                    if (!Member.IsValidAddress(seed))
                    {
                        Reply(sender, Error(id, AdminErrorCode.InvalidArgument, $"'{seed}' is not a host:port address (a member's remoting endpoint)"));
                        break;
                    }
                    Change(sender, id, "join", _cluster.JoinAsync(seed, CancellationToken.None), _ => new AdminReply { CorrelationId = id, Join = new JoinResponse() });
                    break;
                case AdminRequest.RequestOneofCase.Leave:
                    Change(sender, id, "leave", _cluster.LeaveAsync(request.Leave.Node, CancellationToken.None),
                        result => new AdminReply { CorrelationId = id, Leave = new LeaveResponse { Id = result.Node.ToString() } });
                    break;
                case AdminRequest.RequestOneofCase.Down:
                    if (string.IsNullOrWhiteSpace(request.Down.Node))
                    {
                        Reply(sender, Error(id, AdminErrorCode.InvalidArgument, "down needs a member id or address"));
                        break;
                    }
                    Change(sender, id, "down", _cluster.DownAsync(request.Down.Node, CancellationToken.None),
                        result => new AdminReply { CorrelationId = id, Down = new DownResponse { Id = result.Node.ToString() } });
                    break;
                default:
                    Reply(sender, Error(id, AdminErrorCode.InvalidArgument, "the admin request names no operation (a newer client?)"));
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogRequestFailed(_logger, request.RequestCase.ToString(), sender.Path.Address.ToString(), e);
            Reply(sender, Error(id, AdminErrorCode.Internal, $"the node failed to answer {request.RequestCase}: {e.Message}"));
        }
    }

    // The membership's changes complete at once today, but they are tasks: their outcome is piped to the asker as a
    // message, never awaited inside the actor.
    private void Change(IActorRef sender, ulong id, string operation, Task<ClusterCommandResult> change, Func<ClusterCommandResult, AdminReply> done)
    {
        var logger = _logger;
        change.PipeTo(sender, Self,
            success: result => AdminAnswers.ErrorOf(result) is { } error ? new AdminReply { CorrelationId = id, Error = error } : done(result),
            failure: e =>
            {
                LogRequestFailed(logger, operation, sender.Path.Address.ToString(), e);
                return Error(id, AdminErrorCode.Internal, $"the node failed to {operation}: {e.Message}");
            });
    }

    private void Reply(IActorRef sender, AdminReply reply)
    {
        var size = reply.CalculateSize();
        if (size > _maxReplyBytes)
        {
            LogReplyTooLarge(_logger, reply.ReplyCase.ToString(), size, _maxReplyBytes);
            reply = Error(reply.CorrelationId, AdminErrorCode.Internal,
                $"the {reply.ReplyCase} answer is {size} bytes, more than one Akka remoting frame carries ({_maxReplyBytes}); raise akka.remote.dot-netty.tcp.maximum-frame-size");
        }
        sender.Tell(reply, Self);
    }

    private static AdminReply Error(ulong id, AdminErrorCode code, string message) =>
        new() { CorrelationId = id, Error = new AdminError { Code = code, Message = message } };
}
