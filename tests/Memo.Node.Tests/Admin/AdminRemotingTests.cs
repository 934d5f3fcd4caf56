using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Memo.Admin;
using Memo.Admin.Wire;
using Memo.Node.Tests.Transport;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Admin;

/// <summary>
/// <see cref="AdminClient"/> over Akka remoting against a real in-process node (its admin actor at /user/memo-admin on
/// the remoting port), and against endpoints where no admin actor answers.
/// </summary>
public sealed class AdminRemotingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(["memo.shards.count = 4", "memo.shards.usage-interval = 200ms"]);
        using var serving = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _node.Node.Cluster.WaitForViewAsync(v => v.IsServing, serving.Token);
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Show_and_shards_answer_over_remoting_and_the_client_is_not_a_member()
    {
        await using var admin = TestAdmin.Connect(_node.Node.RemoteAddress);

        var show = await admin.ShowAsync();
        var shards = await admin.ShardsAsync();

        var self = _node.Node.NodeId.ToString();
        Assert.Equal(self, show.SelfId);
        Assert.Equal(_node.Address, show.SelfAddress);
        Assert.True(show.Serving);
        // The client's ActorSystem associated with the node's but never joined: the node is still the only member.
        Assert.Equal([self], show.Members.Select(m => m.Id));
        Assert.Equal(MemberStatus.Up, show.Members[0].Status);
        Assert.Equal(4, shards.Shards.Count);
        Assert.All(shards.Shards, s => Assert.Equal([self], s.Replicas));
        Assert.Single(_node.Node.Cluster.View.Membership.Members);

        // The node's own replicas (what catch-up checks read): once founded, one per shard, each its group's only voter.
        for (var attempt = 0; shards.LocalReplicas.Count < 4 && attempt < 100; attempt++)
        {
            await Task.Delay(100);
            shards = await admin.ShardsAsync();
        }
        Assert.Equal([0, 1, 2, 3], shards.LocalReplicas.Select(r => r.Shard));
        Assert.All(shards.LocalReplicas, r => Assert.Equal([self], r.Voters));
    }

    [Fact]
    public async Task Shards_show_each_shards_keys_and_bytes_as_its_leader_last_counted_them()
    {
        await using var admin = TestAdmin.Connect(_node.Node.RemoteAddress);
        using var client = _node.Client();
        for (var i = 0; i < 40; i++)
        {
            await client.UpsertAsync($"usage/{i:D2}", new byte[100]);
        }

        var shards = await WaitForKeysAsync(admin, 40);
        Assert.All(shards.Shards, s => Assert.True(s.HasKeys && s.HasBytes, $"shard {s.Shard} has no count"));
        // Each entry holds its key and a value block of at least the 100 bytes written.
        Assert.True(shards.Shards.Sum(s => (long)s.Bytes) >= 40 * (100 + "usage/00".Length));
        Assert.Equal(40UL, shards.LocalReplicas.Aggregate(0UL, (sum, r) => sum + r.Keys));

        for (var i = 0; i < 10; i++)
        {
            Assert.True(await client.DeleteAsync($"usage/{i:D2}"));
        }
        var after = await WaitForKeysAsync(admin, 30);
        Assert.True(after.Shards.Sum(s => (long)s.Bytes) < shards.Shards.Sum(s => (long)s.Bytes));
    }

    // Polls until the shards' key counts add up to `expected` (the counts refresh every usage-interval).
    private static async Task<ShardsResponse> WaitForKeysAsync(AdminClient admin, ulong expected)
    {
        var shards = await admin.ShardsAsync();
        for (var attempt = 0; shards.Shards.Aggregate(0UL, (sum, s) => sum + s.Keys) != expected && attempt < 150; attempt++)
        {
            await Task.Delay(100);
            shards = await admin.ShardsAsync();
        }
        Assert.Equal(expected, shards.Shards.Aggregate(0UL, (sum, s) => sum + s.Keys));
        return shards;
    }

    [Fact]
    public async Task Refused_changes_carry_the_admin_services_error_kinds()
    {
        await using var admin = TestAdmin.Connect(_node.Node.RemoteAddress);

        var self = await Assert.ThrowsAsync<AdminException>(() => admin.DownAsync(_node.Node.NodeId.ToString()));
        var unknown = await Assert.ThrowsAsync<AdminException>(() => admin.LeaveAsync("0000000000000001"));
        var member = await Assert.ThrowsAsync<AdminException>(() => admin.JoinAsync("127.0.0.1:1"));
        var nobody = await Assert.ThrowsAsync<AdminException>(() => admin.DownAsync(""));

        Assert.Equal(AdminErrorCode.FailedPrecondition, self.Code);
        Assert.Contains("cannot down itself", self.Message, StringComparison.Ordinal);
        Assert.Equal(AdminErrorCode.NotFound, unknown.Code);
        Assert.Equal(AdminErrorCode.FailedPrecondition, member.Code);
        Assert.Contains("already a member", member.Message, StringComparison.Ordinal);
        Assert.Equal(AdminErrorCode.InvalidArgument, nobody.Code);
        Assert.True(_node.Node.Cluster.View.IsServing);
    }

    [Fact]
    public async Task Overlapping_calls_on_one_client_each_get_their_own_answer()
    {
        await using var admin = TestAdmin.Connect(_node.Node.RemoteAddress);

        var calls = Enumerable.Range(0, 32).Select(i => i % 2 == 0 ? (Task)admin.ShowAsync() : admin.ShardsAsync()).ToList();
        await Task.WhenAll(calls);

        Assert.All(calls.Where((_, i) => i % 2 == 0).Cast<Task<ShowResponse>>(), c => Assert.Equal(_node.Node.NodeId.ToString(), c.Result.SelfId));
        Assert.All(calls.Where((_, i) => i % 2 == 1).Cast<Task<ShardsResponse>>(), c => Assert.Equal(4, c.Result.Shards.Count));
    }

    [Fact]
    public async Task An_endpoint_that_refuses_connections_is_unreachable_with_the_socket_error()
    {
        using var ports = new ReservedLoopbackPorts();
        var closed = ports.Reserve();
        await using var admin = TestAdmin.Connect(closed, TimeSpan.FromSeconds(30));

        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<AdminUnreachableException>(() => admin.ShowAsync());

        output.WriteLine($"refused after {watch.ElapsedMilliseconds} ms: {e.Message}");
        Assert.Contains(closed, e.Message, StringComparison.Ordinal);
        Assert.Contains("refused", e.Message, StringComparison.OrdinalIgnoreCase);
        // The client stays failed: a second call says the same without waiting.
        Assert.Equal(e.Message, (await Assert.ThrowsAsync<AdminUnreachableException>(() => admin.ShardsAsync())).Message);
    }

    [Fact]
    public async Task A_wrong_network_name_gets_no_answer_and_the_error_names_the_network_to_check()
    {
        await using var admin = TestAdmin.Connect(_node.Node.RemoteAddress, TimeSpan.FromSeconds(2), network: "another-network");

        var e = await Assert.ThrowsAsync<AdminUnreachableException>(() => admin.ShowAsync());

        output.WriteLine(e.Message);
        Assert.Contains("network 'another-network'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"akka.tcp://another-network@{_node.Node.RemoteAddress}/user/memo-admin", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_remote_system_without_an_admin_actor_is_reported_as_such()
    {
        var bare = ActorSystem.Create("memo", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            """));
        try
        {
            var address = ((ExtendedActorSystem)bare).Provider.DefaultAddress;
            await using var admin = TestAdmin.Connect($"127.0.0.1:{address.Port}", TimeSpan.FromSeconds(30));

            var e = await Assert.ThrowsAsync<AdminUnreachableException>(() => admin.ShowAsync());

            Assert.Contains("has no admin actor at /user/memo-admin", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await bare.Terminate();
        }
    }
}
