using System.Text;
using Memo.Node.Storage;
using Memo.Protocol.Client;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.ClusterData;

/// <summary>
/// Supervision of shard replicas in a running node: a replica actor stopped by a failure (here a commit the disk refused)
/// is started again from the silo by its backoff supervisor, and serves again with nothing acknowledged lost. (The
/// supervisor's delays are asserted on virtual time in ShardGroups/ShardReplicaActorTests.)
/// </summary>
public sealed class ReplicaRestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_replica_stopped_by_a_failed_commit_is_restarted_from_the_silo_and_serves_again()
    {
        await using var cluster = await InProcessCluster.StartAsync(1, ["memo.raft.tick-interval = 20ms"]);
        var slot = cluster.Nodes[0];
        using var client = new MemoClient(slot.Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(5) });
        await client.UpsertAsync("victim", Encoding.UTF8.GetBytes("before"));
        var shard = slot.Running.Shards.Layout.ShardOf("victim");
        // Entry cache, then SQLite (the data policies' sealing layer is absent: both policies are off by default).
        var silo = Assert.IsType<SqliteSilo>(Assert.IsType<EntryCacheSilo>(slot.Running.Shards.Silo).Inner);

        // The disk refuses the next log write of this key's shard: the commit fails and the shard's replica stops. (A
        // refused application instead would come after the entry is durable, hence answered, and be replayed.)
        var refusals = 0;
        silo.FaultInjector = op => op is SiloOperation.AppendLog append && append.Shard == shard && Interlocked.Increment(ref refusals) > 0
            ? new IOException("injected: disk refused the write")
            : null;
        await Assert.ThrowsAnyAsync<Exception>(() => client.UpsertAsync("victim", Encoding.UTF8.GetBytes("refused")));
        var stopped = slot.Running.Shards.Replicas.Single(r => r.Shard == shard);
        await cluster.WaitUntilAsync(_ => stopped.Status.StopReason is not null, "the replica stops", TimeSpan.FromSeconds(10));
        output.WriteLine($"stopped: {stopped.Status.StopReason}");
        silo.FaultInjector = null; // the disk is back

        // Its supervisor restarts it from the silo (after the first backoff, 1 s) and it serves again.
        await cluster.WaitUntilAsync(
            _ => slot.Running.Shards.Replicas.SingleOrDefault(r => r.Shard == shard) is { } r && r.Incarnations >= 2
                && r.Status.StopReason is null && r.Status.IsLeader,
            "the replica is restarted and leads its shard again", TimeSpan.FromSeconds(20));
        Assert.Equal("before", Encoding.UTF8.GetString((await client.FetchAsync("victim"))!));
        await client.UpsertAsync("victim", Encoding.UTF8.GetBytes("after"));
        Assert.Equal("after", Encoding.UTF8.GetString((await client.FetchAsync("victim"))!));
        Assert.True(refusals >= 1);
    }
}
