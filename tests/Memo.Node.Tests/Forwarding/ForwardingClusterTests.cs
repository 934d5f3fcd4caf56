using System.Diagnostics;
using Google.Protobuf;
using Memo.Node.Routing;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Wire;
using Memo.Node.Transport;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Xunit.Abstractions;
using static Memo.Node.Tests.ClusterData.ClusterDataTests;

namespace Memo.Node.Tests.Forwarding;

/// <summary>
/// Forwarding between two real in-process nodes over their Akka.Remote peer links, with messages of the forwarding
/// channel lost in flight (<see cref="PeerFaultInjector.Lose"/>: the sender cannot tell): a lost read is retried and
/// answered, a proposal whose answer is lost ends "outcome unknown" although it was applied, and malformed input from
/// a peer leaves the node serving. Also prints the forwarding throughput.
/// </summary>
public sealed class ForwardingClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly ShardLayout Layout = new(4);
    private readonly PeerFaultInjector _faults = new();
    private InProcessCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = await InProcessCluster.StartAsync(2);
        foreach (var slot in _cluster.Nodes)
        {
            slot.Running.PeerFaults = _faults;
        }
        // Once every group is its ring replica set nothing moves leadership any more (only elections would).
        await WaitAsync(_cluster, n => GroupsMatchRing(n, 2, 2), "both nodes Up, every shard's group = its 2 ring replicas, each led");
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_forwarded_read_lost_in_flight_is_retried_and_answered()
    {
        var (leader, follower, key) = Pick();
        using (var writer = ClientOf(leader))
        {
            await writer.UpsertAsync(key, V("before the loss"));
        }
        _faults.Lose(follower.Running.NodeId, leader.Running.NodeId, PeerChannelKind.Forwarding);
        using var reader = ClientOf(follower);
        var started = Stopwatch.GetTimestamp();

        var read = reader.FetchAsync(key);
        await WaitForAsync(() => Task.FromResult(_faults.LostCount > 0 || read.IsCompleted), _cluster, "the forwarded read lost on its way to the leader");
        Assert.True(_faults.LostCount > 0, "the read was not forwarded: the follower answered it some other way");
        _faults.HealAll();

        Assert.Equal(V("before the loss"), await read);
        output.WriteLine($"{_faults.LostCount} forwarded read(s) lost; answered after {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
    }

    [Fact]
    public async Task A_proposal_whose_answer_is_lost_ends_outcome_unknown_though_it_was_applied()
    {
        var (leader, follower, key) = Pick();
        _faults.Lose(leader.Running.NodeId, follower.Running.NodeId, PeerChannelKind.Forwarding);
        using var writer = ClientOf(follower);

        var e = await Assert.ThrowsAsync<GrpcException>(() => writer.UpsertAsync(key, V("applied, unanswered")));
        _faults.HealAll();

        Assert.Equal(GrpcStatusCode.Unavailable, e.Status);
        Assert.Contains("outcome unknown", e.Message, StringComparison.Ordinal);
        Assert.True(_faults.LostCount > 0);
        using var reader = ClientOf(leader);
        Assert.Equal(V("applied, unanswered"), await reader.FetchAsync(key));
        output.WriteLine(e.Message);
    }

    [Fact]
    public async Task Malformed_forwarding_messages_from_a_peer_are_counted_and_the_node_keeps_serving()
    {
        var (leader, follower, key) = Pick();
        var target = leader.Running;
        var before = target.Shards.Forwarder.MalformedReceived;

        follower.Running.PeerTransport.Send(target.NodeId, target.AdvertisedAddress, PeerMessage.Forwarding(new byte[] { 0xFF, 0x01, 0xFF }));
        follower.Running.PeerTransport.Send(target.NodeId, target.AdvertisedAddress,
            PeerMessage.Forwarding(new ForwardingEnvelope { Format = 1, Call = ulong.MaxValue }.ToByteArray()));
        await WaitForAsync(() => Task.FromResult(target.Shards.Forwarder.MalformedReceived >= before + 2), _cluster, "both malformed messages seen by the leader");

        using var writer = ClientOf(follower);
        await writer.UpsertAsync(key, V("after the garbage"));
        Assert.Equal(V("after the garbage"), await writer.FetchAsync(key));
    }

    [Fact]
    public async Task Forwarding_throughput_between_two_nodes_is_printed()
    {
        var (leader, follower, key) = Pick();
        var shard = Layout.ShardOf(key);
        var forwarder = follower.Running.Shards.Forwarder;
        var to = leader.Running.NodeId;
        using (var writer = ClientOf(leader))
        {
            await writer.UpsertAsync(key, V("read me"));
        }
        var read = new ReadRequest { Format = 1, Shard = (uint)shard.Value, EntryKey = key };
        var propose = new ProposeRequest
        {
            Format = 1,
            Shard = (uint)shard.Value,
            // A delete of a key never written (of the same shard): a full Raft round each, nothing to clean up.
            Command = new ShardCommand { Format = 1, DeleteEntry = new DeleteEntry { Key = KeysOf(shard).Skip(1).First() } }.ToByteString(),
        };
        foreach (var concurrency in new[] { 1, 32 })
        {
            var reads = await RateAsync(concurrency, async () => (await forwarder.ReadAsync(to, read, TimeSpan.FromSeconds(5), default)).Answer?.Status == ShardReplyStatus.ReadDone);
            var proposals = await RateAsync(concurrency, async () => (await forwarder.ProposeAsync(to, propose, TimeSpan.FromSeconds(5), default)).Answer?.Status == ShardReplyStatus.Applied);
            output.WriteLine($"concurrency {concurrency,2}: forwarded reads {reads.Rate,8:F0}/s ({reads.Failed} failed), proposals {proposals.Rate,8:F0}/s ({proposals.Failed} failed)");
            Assert.Equal((0, 0), (reads.Failed, proposals.Failed));
        }
        // No call of the test stays pending. The node's own status polls and anti-entropy use the same forwarder, so
        // one of theirs may be in flight at any moment: wait for a moment with none.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (forwarder.PendingCalls != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }
        Assert.Equal(0, forwarder.PendingCalls);
    }

    private static async Task<(double Rate, int Failed)> RateAsync(int concurrency, Func<Task<bool>> call)
    {
        var window = TimeSpan.FromSeconds(2);
        var started = Stopwatch.GetTimestamp();
        var done = 0;
        var failed = 0;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Stopwatch.GetElapsedTime(started) < window)
            {
                if (await call())
                {
                    Interlocked.Increment(ref done);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }));
        return (done / Stopwatch.GetElapsedTime(started).TotalSeconds, failed);
    }

    // Shard 0, its leader, the other node, and a key of the shard.
    private (InProcessCluster.Slot Leader, InProcessCluster.Slot Follower, string Key) Pick()
    {
        var shard = new ShardId(0);
        var leader = _cluster.Nodes.Single(n => n.Running.Shards.TryGetReplica(shard, out var r) && r.Status.IsLeader);
        var follower = _cluster.Nodes.Single(n => n != leader);
        return (leader, follower, KeysOf(shard).First());
    }

    private static IEnumerable<string> KeysOf(ShardId shard) =>
        Enumerable.Range(0, 100_000).Select(i => $"forwarded/{i}").Where(k => Layout.ShardOf(k) == shard);
}
