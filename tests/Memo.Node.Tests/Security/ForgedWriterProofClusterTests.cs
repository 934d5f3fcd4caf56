using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Users;
using Memo.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Node.Tests.Security;

/// <summary>
/// A key-value write proposed around the API, straight into a real cluster's shard through the node-internal gateway
/// (what a faulty or hostile member could send): without a writer's proof, or with a self-signed passport, every
/// replica's state machine refuses it and nothing is stored; a genuine proof through the same path is applied.
/// </summary>
public sealed class ForgedWriterProofClusterTests : IDisposable
{
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _alice = MemoKeyPair.Generate();
    private readonly MemoKeyPair _mallory = MemoKeyPair.Generate();

    [Fact]
    public async Task Writes_with_a_forged_or_absent_proof_proposed_around_the_API_are_refused_by_the_shard()
    {
        await using var cluster = await InProcessCluster.StartAsync(3, owner: _owner);
        var alicePassport = PassportIssuer.Issue(_owner, _alice.PublicKey, "alice", cluster.Network,
            [new PassportGrantRule(PassportRights.Read | PassportRights.Write, "")], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        using var asAlice = new MemoClient(cluster.Nodes[0].Address, new MemoClientOptions { Credentials = new UserCredentials(_alice, alicePassport) });
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await asAlice.UpsertAsync("ready", new byte[] { 1 });
                break;
            }
            catch (Memo.Protocol.Grpc.GrpcException) when (DateTime.UtcNow < deadline)
            {
                // Polling pause while the cluster elects its leaders; the write is retried.
                await Task.Delay(200);
            }
        }

        var gateway = new ClusterShardGateway(cluster.Nodes[1].Running.Shards, new ClusterShardGatewayOptions(), NullLogger<ClusterShardGateway>.Instance);
        var value = "forged"u8.ToArray();
        WriteEntry Write(string key, MemoKeyPair signer, Memo.Protocol.Users.Wire.Passport passport)
        {
            var block = BlockFactory.MakeImmutable(value, signer.PublicKey);
            var token = new UserCredentials(signer, passport).Sign(CallStatement.KvUpsert,
                CallStatement.KeyedSummaryDigest(key, SHA256.HashData(value)), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            return new WriteEntry
            {
                Key = key,
                Mode = WriteMode.Upsert,
                ValueAddress = block.Address,
                ValueBlock = block,
                Proof = new WriterProof { Passport = passport.ToByteString(), CallToken = token.ToByteString(), ValueDigest = ByteString.CopyFrom(SHA256.HashData(value)) },
            };
        }
        async Task<string> RefusedAsync(WriteEntry write)
        {
            var command = new ShardCommand { Format = ShardStateMachine.Format, WriteEntry = write };
            var refused = await Assert.ThrowsAsync<RpcException>(() => gateway.ProposeAsync(gateway.Layout.ShardOf(write.Key), command, CancellationToken.None));
            return refused.Status.Detail;
        }

        var absent = Write("k", _alice, alicePassport);
        absent.Proof = null;
        Assert.Contains("no writer's proof", await RefusedAsync(absent), StringComparison.Ordinal);
        var selfSigned = PassportIssuer.Issue(_mallory, _mallory.PublicKey, "mallory", cluster.Network,
            [new PassportGrantRule(PassportRights.Write, "")], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Contains("passport is not valid", await RefusedAsync(Write("k", _mallory, selfSigned)), StringComparison.Ordinal);
        Assert.Null(await asAlice.FetchAsync("k"));

        // The same path with alice's genuine proof is applied: the refusals above are the proofs', not the path's.
        var genuine = await gateway.ProposeAsync(gateway.Layout.ShardOf("k"), new ShardCommand { Format = ShardStateMachine.Format, WriteEntry = Write("k", _alice, alicePassport) },
            CancellationToken.None);
        Assert.IsType<ShardResult.EntryWritten>(genuine);
        Assert.Equal(value, await asAlice.FetchAsync("k"));
    }

    public void Dispose()
    {
        _owner.Dispose();
        _alice.Dispose();
        _mallory.Dispose();
    }
}
