using System.Diagnostics;
using Memo.Testing.Nemesis;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Nemesis;

/// <summary>
/// The unreachable-pair bug of the process nemesis (docs/testing.md): after both sides' connections of a pair were
/// reset at once, the two members could stay unreachable from each other for minutes on a healthy network. Three node
/// processes behind link proxies; each round resets every connection between one pair in both proxies at the same
/// instant, with the proxies steering the redials into the race that caused it, and the pair must see each other
/// reachable again. Random resets alone (30 rounds of bursts on slowed links) never hit the race here; the steered
/// rounds failed within 3 to 5 rounds in each of three runs before the fix.
/// </summary>
public sealed class PairResetTests(ITestOutputHelper output) : IDisposable
{
    // Far above what a working reconnection takes (a few gossip and heartbeat rounds, under a second here), far below
    // the minutes the bug held a pair apart.
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(45);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-pair-reset-" + Guid.NewGuid().ToString("n"));

    [Fact]
    public async Task A_pair_whose_redial_fails_mid_handshake_on_one_side_only_becomes_reachable_again()
    {
        // The deterministic form of the race: after the pair's connections are reset, both redial; a's request reaches
        // b while b's own is on its way, b's reaches a after a's is up, a accepts it, and that connection is reset before
        // b sees a's answer.
        // Before the fix, a stopped reading the connection it had dialled (b's new one was to take over) and b, its own
        // attempt failed, wrote everything to a over that connection: b's messages to a went unread for good.
        var seed = Environment.GetEnvironmentVariable("MEMO_NEMESIS_SEED") is { Length: > 0 } text
            ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture)
            : Random.Shared.Next(1, 1_000_000);
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        await using var cluster = await NemesisCluster.StartAsync(_root, 3, ProcessNemesis.NodeSettings(staleReads: false), seed, TimeSpan.FromMinutes(3));
        for (var round = 1; round <= 6; round++)
        {
            var a = random.Next(3);
            var b = (a + 1 + random.Next(2)) % 3;
            // a's redial reaches b only after b has started its own, which a accepts once a's is up.
            cluster.Proxies[b].ArmHandshakeTrap(a, TimeSpan.FromMilliseconds(300), resetOnAnswer: false);
            cluster.Proxies[a].ArmHandshakeTrap(b, TimeSpan.FromMilliseconds(600), resetOnAnswer: true);
            var resets = cluster.Proxies[a].Reset(b) + cluster.Proxies[b].Reset(a);
            var clock = Stopwatch.StartNew();
            try
            {
                await cluster.WaitMembersUpAsync(Recovery);
            }
            catch (TimeoutException e)
            {
                Assert.Fail($"seed {seed}, round {round}: nodes {a} and {b} did not become reachable again after b's redial failed mid-handshake: {e.Message}");
            }
            var trapped = !cluster.Proxies[a].HandshakeTrapArmed(b);
            output.WriteLine($"round {round}: pair {a}-{b}, {resets} connection(s) reset, {(trapped ? "b's redial reset mid-handshake" : "b did not redial")}, every member reachable again after {clock.Elapsed.TotalSeconds:0.0} s");
            // Let the pair's traffic run on the new connections before the next round.
            await Task.Delay(2000);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
