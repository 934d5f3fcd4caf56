using Google.Protobuf;
using Grpc.Core;
using Memo.Node.Blocks;
using Memo.Node.Routing;
using Memo.Node.Security;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;

namespace Memo.Node.Api;

/// <summary>
/// The <c>memo.users.Passports</c> gRPC service: takes a revocation signed by the network owner (or an admin), commits
/// it to the network's revocation list through the list's shard (every replica re-checks the signature when it applies
/// it) and adds it to this node's copy at once; lists the revoked passports. Needs no passport of its caller: the
/// revocation proves its own authority. On a network without an owner every call is FAILED_PRECONDITION.
/// </summary>
public sealed class PassportsService(IShardGateway shards, NetworkAccess? access, PassportRevocations revocations, RevocationRefresher? refresher)
    : Passports.PassportsBase
{
    /// <inheritdoc />
    public override async Task<RevokeResponse> Revoke(RevokeRequest request, ServerCallContext context)
    {
        var network = RequireOwner();
        var revocation = request.Revocation ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "The request carries no revocation."));
        if (PassportVerifier.VerifyRevocation(revocation, network.Owner, network.Network, out var problem) is not { } id)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, problem!));
        }
        var result = await shards.ProposeAsync(shards.Layout.ShardOf(NetworkAccess.RevocationKey), new ShardCommand
        {
            Format = ShardStateMachine.Format,
            RevokePassport = new RevokePassport { Revocation = revocation.ToByteString() },
        }, context.CancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case ShardResult.EntryWritten:
                revocations.Add([id]);
                return new RevokeResponse();
            case ShardResult.Refused refused:
                throw new RpcException(new Status(refused.Kind == BlockRejection.PermissionDenied ? StatusCode.PermissionDenied : StatusCode.InvalidArgument, refused.Reason));
            default:
                throw new RpcException(new Status(StatusCode.Internal, $"Unexpected result of a revocation: {result}."));
        }
    }

    /// <inheritdoc />
    public override async Task<ListRevokedResponse> ListRevoked(ListRevokedRequest request, ServerCallContext context)
    {
        RequireOwner();
        if (refresher is not null)
        {
            await refresher.RefreshAsync(context.CancellationToken).ConfigureAwait(false);
        }
        var response = new ListRevokedResponse();
        foreach (var id in revocations.Revoked.Order(StringComparer.Ordinal))
        {
            response.PassportIds.Add(ByteString.CopyFrom(Convert.FromHexString(id)));
        }
        return response;
    }

    private NetworkAccess RequireOwner() =>
        access ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "This network has no owner (memo.network.owner), so it has no passports."));
}
