using Memo.Node.Api.Hosting;

namespace Memo.Node.Tests.Api;

/// <summary>The gRPC server's pool of large receive blocks on its own: sizes, reuse, the retained bound, leases.</summary>
public sealed class ReceiveBlockPoolTests
{
    [Fact]
    public void A_rent_gets_a_whole_block_and_a_returned_block_is_reused()
    {
        using var pool = new ReceiveBlockPool(64 * 1024);

        var first = pool.Rent(4096);
        Assert.Equal(64 * 1024, first.Memory.Length);
        Assert.Equal(64 * 1024, pool.MaxBufferSize);
        Assert.Equal(1, pool.Rented);
        first.Memory.Span[0] = 42;
        var array = first.Memory;
        first.Dispose();
        Assert.Equal(0, pool.Rented);
        Assert.Equal(1, pool.Free);

        using var second = pool.Rent();
        Assert.True(second.Memory.Span.Overlaps(array.Span), "the returned block is handed out again");
        Assert.Equal(1, pool.Allocated);
        Assert.Equal(0, pool.Free);
    }

    [Fact]
    public void Returned_blocks_beyond_the_retained_bytes_are_not_kept()
    {
        using var pool = new ReceiveBlockPool(8192, retainedBytes: 3 * 8192);
        var leases = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToList();
        Assert.Equal(5, pool.Allocated);
        Assert.Equal(5, pool.Rented);

        leases.ForEach(lease => lease.Dispose());

        Assert.Equal(0, pool.Rented);
        Assert.Equal(3, pool.Free);
        // Three come back from the pool, the fourth is a new block.
        var again = Enumerable.Range(0, 4).Select(_ => pool.Rent()).ToList();
        Assert.Equal(6, pool.Allocated);
        again.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public void A_lease_returns_its_block_once_and_refuses_use_after_that()
    {
        using var pool = new ReceiveBlockPool(4096);
        var lease = pool.Rent();

        lease.Dispose();
        lease.Dispose();

        Assert.Equal(1, pool.Free);
        Assert.Equal(0, pool.Rented);
        Assert.Throws<ObjectDisposedException>(() => lease.Memory);
    }

    [Fact]
    public void A_rent_above_the_block_size_or_after_dispose_is_refused_and_a_late_return_is_dropped()
    {
        var pool = new ReceiveBlockPool(4096);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(4097));
        var late = pool.Rent();

        pool.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
        late.Dispose();
        Assert.Equal(0, pool.Free);
        Assert.Equal(0, pool.Rented);
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(1024 * 1024 + 1)]
    [InlineData(0)]
    public void A_block_size_outside_4_KiB_to_1_MiB_is_refused(int blockSize)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReceiveBlockPool(blockSize));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReceiveBlockPool.Factory(blockSize));
        var errors = new ApiServerOptions { Addresses = ["localhost:0"], ReceiveBlockSize = blockSize }.Validate();
        Assert.Contains(errors, e => e.Contains(nameof(ApiServerOptions.ReceiveBlockSize), StringComparison.Ordinal) && e.Contains(blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
    }

    [Fact]
    public void The_factory_makes_pools_of_its_block_size_and_lists_them()
    {
        var factory = new ReceiveBlockPool.Factory(16 * 1024, retainedBytes: 1024 * 1024);

        using var a = factory.Create();
        using var b = factory.Create();

        Assert.Equal(2, factory.Pools.Count);
        Assert.All(factory.Pools, pool => Assert.Equal(16 * 1024, pool.MaxBufferSize));
        Assert.All(factory.Pools, pool => Assert.Equal(1024 * 1024, pool.RetainedBytes));
    }
}
