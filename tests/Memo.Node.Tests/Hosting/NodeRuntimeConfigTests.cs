using System.Text.Json;
using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Protocol.Blocks;
using Memo.Protocol.ValueStore;
using Memo.Testing;

namespace Memo.Node.Tests.Hosting;

/// <summary>
/// The runtime settings the node's build carries (Memo.Node.runtimeconfig.json, read by the runtime at start), checked
/// against the arrays they are there for.
/// </summary>
public sealed class NodeRuntimeConfigTests
{
    [Fact]
    public void The_large_object_threshold_keeps_a_one_MiB_value_and_its_block_encoding_out_of_the_large_object_heap()
    {
        // The arrays one 1 MiB put allocates: the request's value, and the encoding of its block (value, address, salt,
        // owner key), which the copy path writes to disk (docs/performance.md, "Large values").
        var value = new byte[1024 * 1024];
        using var owner = MemoKeyPair.Generate();
        var block = BlockFactory.MakeImmutableSharing(value, owner.PublicKey, ReclaimKeys.SaltOf(ReclaimKeys.NewKey()));
        var largest = Math.Max(value.Length, block.CalculateSize());

        var threshold = ConfiguredLargeObjectThreshold();

        Assert.True(threshold > largest,
            $"System.GC.LOHThreshold is {threshold} bytes; a 1 MiB value's block encoding is {largest} bytes, so it would go to the large object heap");
    }

    private static long ConfiguredLargeObjectThreshold()
    {
        var path = Path.ChangeExtension(NodeProcess.NodeAssembly, ".runtimeconfig.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        Assert.True(document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties")
            .TryGetProperty("System.GC.LOHThreshold", out var setting), $"{path} sets no System.GC.LOHThreshold");
        return setting.GetInt64();
    }
}
