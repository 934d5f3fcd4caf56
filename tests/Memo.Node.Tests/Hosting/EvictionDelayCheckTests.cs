using Memo.Node.Configuration;
using Memo.Testing;

namespace Memo.Node.Tests.Hosting;

/// <summary>A node refuses an eviction delay shorter than the failure detector's acceptable heartbeat pause.</summary>
public sealed class EvictionDelayCheckTests
{
    [Fact]
    public async Task An_eviction_delay_shorter_than_the_heartbeat_pause_stops_the_start_and_names_both_keys()
    {
        var folder = Path.Combine(Path.GetTempPath(), "memo-test-" + Guid.NewGuid().ToString("n"));
        try
        {
            var refused = await Assert.ThrowsAsync<MemoConfigurationException>(() => TestNode.StartAsync(
                ["memo.network.eviction-delay = 2s", "akka.cluster.failure-detector.acceptable-heartbeat-pause = 5s"], folder));
            Assert.Contains("memo.network.eviction-delay (2 s)", refused.Message, StringComparison.Ordinal);
            Assert.Contains("akka.cluster.failure-detector.acceptable-heartbeat-pause (5 s)", refused.Message, StringComparison.Ordinal);

            // Nothing of the refused start holds the folder: with an equal delay the node starts on it.
            await using var node = await TestNode.StartAsync(
                ["memo.network.eviction-delay = 5s", "akka.cluster.failure-detector.acceptable-heartbeat-pause = 5s"], folder);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
