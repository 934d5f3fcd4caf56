using Memo.Node.Configuration;
using Memo.Node.Storage.Policies;

namespace Memo.Node.Tests.Policies;

public sealed class PolicyOptionsTests
{
    [Fact]
    public void The_defaults_neither_compress_nor_encrypt()
    {
        var options = MemoOptions.Load(null, []);
        Assert.Equal(new DataPolicies(ValueCompression.Off, false), options.Network.DataPolicies);
        Assert.Equal("", options.Node.KekFile);
        Assert.Equal("", options.Node.PreviousKekFile);
    }

    [Fact]
    public void Policies_and_kek_files_are_read_from_their_keys()
    {
        var options = MemoOptions.Load(null,
            ["memo.network.compression = brotli", "memo.network.encrypt-at-rest = on", "memo.node.kek-file = \"/keys/node.kek\"", "memo.node.previous-kek-file = \"/keys/old.kek\""]);
        Assert.Equal(new DataPolicies(ValueCompression.Brotli, true), options.Network.DataPolicies);
        Assert.Equal("/keys/node.kek", options.Node.KekFile);
        Assert.Equal("/keys/old.kek", options.Node.PreviousKekFile);
    }

    [Fact]
    public void An_unknown_codec_or_switch_is_refused_with_the_choices()
    {
        var e = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null, ["memo.network.compression = lz4", "memo.network.encrypt-at-rest = maybe"]));
        Assert.Contains(e.Problems, p => p.StartsWith("memo.network.compression", StringComparison.Ordinal) && p.Contains("off, zstd, brotli", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("memo.network.encrypt-at-rest", StringComparison.Ordinal));
    }

    [Fact]
    public void Write_consistency_defaults_to_majority_reads_async_and_refuses_other_words_with_the_choices()
    {
        Assert.Equal(WriteConsistency.Majority, MemoOptions.Load(null, []).Kvs.WriteConsistency);
        Assert.Equal(WriteConsistency.Async, MemoOptions.Load(null, ["memo.kvs.write-consistency = async"]).Kvs.WriteConsistency);
        var e = Assert.Throws<MemoConfigurationException>(() => MemoOptions.Load(null, ["memo.kvs.write-consistency = eventual"]));
        Assert.Contains(e.Problems, p => p.StartsWith("memo.kvs.write-consistency", StringComparison.Ordinal) && p.Contains("majority, async", StringComparison.Ordinal));
    }
}
