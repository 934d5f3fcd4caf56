using System.Diagnostics;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Xunit.Abstractions;

namespace Memo.Protocol.Tests.Acl;

/// <summary>
/// What an ACB costs a writer, a replica and a reader as its ACL grows: figures printed, not asserted (the box is
/// shared); the test asserts only that every reader decrypts and the block validates.
/// </summary>
public sealed class AclCostFigures(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(100)]
    public void Writing_validating_and_reading_an_acb_with_n_readers(int readers)
    {
        using var owner = MemoKeyPair.Generate();
        var keys = Enumerable.Range(0, readers).Select(_ => MemoKeyPair.Generate()).ToList();
        var access = keys.Aggregate(AccessList.OwnerOnly, (acl, k) => acl.With(new AclGrant(k.PublicKey, true, false)));
        var data = new byte[4096];
        Random.Shared.NextBytes(data);
        const int Rounds = 20;
        // One untimed round first, so the figures leave out JIT and the platform crypto's first-use costs.
        Assert.True(AclBlocks.TryRead(AclBlocks.Create(owner, data, access), keys[0], null, out _));

        var write = Stopwatch.StartNew();
        var block = AclBlocks.Create(owner, data, access);
        for (var i = 0; i < Rounds - 1; i++)
        {
            block = AclBlocks.Edit(block, owner, data);
        }
        write.Stop();
        var validate = Stopwatch.StartNew();
        for (var i = 0; i < Rounds; i++)
        {
            Assert.True(BlockValidator.Validate(block).IsValid);
        }
        validate.Stop();
        var read = Stopwatch.StartNew();
        for (var i = 0; i < Rounds; i++)
        {
            Assert.True(AclBlocks.TryRead(block, keys[i % readers], null, out var plain));
            Assert.Equal(data, plain);
        }
        read.Stop();

        output.WriteLine($"ACB with {readers} readers, 4 KiB of data, {block.CalculateSize()} bytes on the wire: write {write.Elapsed.TotalMilliseconds / Rounds:F2} ms, " +
            $"replica validation {validate.Elapsed.TotalMilliseconds / Rounds:F2} ms, read {read.Elapsed.TotalMilliseconds / Rounds:F2} ms (mean of {Rounds})");
        keys.ForEach(k => k.Dispose());
    }
}
