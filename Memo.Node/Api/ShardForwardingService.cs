using Grpc.Core;
using Memo.Node.Shards.Hosting;
using Memo.Node.Shards.Wire;

namespace Memo.Node.Api;

/// <summary>
/// The node-internal <c>memo.shard.ShardService</c>: other nodes forward proposals and linearizable reads of shards
/// this node leads, and poll its replicas' status. Expected outcomes (not the leader, dropped, unknown) are values in
/// the reply; only malformed requests are gRPC errors.
/// </summary>
public sealed class ShardForwardingService(ShardHost host) : ShardService.ShardServiceBase
{
    /// <inheritdoc />
    public override async Task<ProposeReply> Propose(ProposeRequest request, ServerCallContext context)
    {
        if (request.Shard >= (uint)host.Layout.ShardCount)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"There is no shard {request.Shard}."));
        }
        ShardCommand command;
        try
        {
            command = ShardCommand.Parser.ParseFrom(request.Command);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"The command does not parse: {e.Message}"));
        }
        return await host.ServeProposeAsync(new ShardId((int)request.Shard), command, context.CancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<ReadReply> Read(ReadRequest request, ServerCallContext context) =>
        await host.ServeReadAsync(request, context.CancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public override Task<ReplicaStatusReply> Status(ReplicaStatusRequest request, ServerCallContext context)
    {
        var reply = new ReplicaStatusReply { Node = host.Self.Value };
        foreach (var report in host.LocalReports())
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
            reply.Replicas.Add(message);
        }
        return Task.FromResult(reply);
    }
}
