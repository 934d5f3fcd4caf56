using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// The gRPC server's memory pool: fixed-size pinned blocks, larger than Kestrel's own 4 KiB, that Kestrel's socket
/// transport reads into and its pipes (the connection's input and output, HTTP/2's input, each stream's request body)
/// are made of. Registered as Kestrel's <see cref="IMemoryPoolFactory{T}"/> (<see cref="Factory"/>).
/// </summary>
/// <remarks>
/// <para><b>Why.</b> With 4 KiB blocks a 1 MiB request took 256 <c>recv</c> calls and every pipe between the socket and
/// the request's parser held it as 256 segments; one node spent a third of its CPU receiving 1 MiB values
/// (docs/performance.md, "Large values"). A pipe asks its pool for a segment of at least 4 KiB and gets a whole block,
/// so a 64 KiB block lets one <c>recv</c> take up to 64 KiB and holds 16 times fewer segments.</para>
/// <para><b>Bounds.</b> A block is rented while a pipe holds bytes in it, so what a connection holds is bounded by
/// Kestrel's limits (the transport pipe's pause threshold, the HTTP/2 windows), rounded up to whole blocks; an idle
/// connection holds none, because the server waits for data before renting (<c>WaitForDataBeforeAllocatingBuffer</c>).
/// Returned blocks are kept for reuse up to <see cref="RetainedBytes"/> per pool, and beyond that left to the GC;
/// Kestrel makes one pool per I/O queue (one per core, up to 16).</para>
/// <para>Blocks are allocated pinned and uninitialized (a pipe reads only bytes it wrote), as Kestrel's own pool does:
/// the socket reads into them without pinning, and pinned blocks live apart from the compacted heap.</para>
/// </remarks>
public sealed class ReceiveBlockPool : MemoryPool<byte>
{
    /// <summary>Smallest block: Kestrel's pipes ask for segments of at least 4 KiB.</summary>
    public const int MinBlockSize = 4096;

    /// <summary>Largest block, 1 MiB: a larger block is never filled by one read, and a stream's pipe rents at least one.</summary>
    public const int MaxBlockSize = 1024 * 1024;

    /// <summary>Default returned bytes kept per pool for reuse: 8 MiB (128 blocks of 64 KiB).</summary>
    public const long DefaultRetainedBytes = 8L * 1024 * 1024;

    private readonly ConcurrentQueue<byte[]> _free = new();
    private readonly int _maxFree;
    private int _freeCount;
    private long _rented;
    private long _allocated;
    private volatile bool _disposed;

    /// <summary>A pool of blocks of <paramref name="blockSize"/> bytes that keeps up to <paramref name="retainedBytes"/> of returned blocks.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The block size is outside 4 KiB–1 MiB, or the retained bytes are negative.</exception>
    public ReceiveBlockPool(int blockSize, long retainedBytes = DefaultRetainedBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, MinBlockSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSize, MaxBlockSize);
        ArgumentOutOfRangeException.ThrowIfNegative(retainedBytes);
        BlockSize = blockSize;
        RetainedBytes = retainedBytes;
        _maxFree = (int)Math.Min(int.MaxValue, retainedBytes / blockSize);
    }

    /// <summary>Bytes of every block this pool hands out.</summary>
    public int BlockSize { get; }

    /// <summary>Most bytes of returned blocks kept for reuse.</summary>
    public long RetainedBytes { get; }

    /// <inheritdoc />
    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks rented and not yet returned.</summary>
    public long Rented => Interlocked.Read(ref _rented);

    /// <summary>Blocks ever allocated (a rent that found no returned block to reuse).</summary>
    public long Allocated => Interlocked.Read(ref _allocated);

    /// <summary>Returned blocks kept for reuse now.</summary>
    public int Free => Volatile.Read(ref _freeCount);

    /// <summary>Rents one block of <see cref="BlockSize"/> bytes (a reused one when there is one).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minBufferSize"/> is above <see cref="BlockSize"/>.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        // Pipes rent from the pool only up to MaxBufferSize and allocate larger segments themselves.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_free.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _freeCount);
        }
        else
        {
            block = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
            Interlocked.Increment(ref _allocated);
        }
        Interlocked.Increment(ref _rented);
        return new Lease(this, block);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        while (_free.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }

    private void Return(byte[] block)
    {
        Interlocked.Decrement(ref _rented);
        // A block returned after dispose, or beyond the retained bytes, is left to the GC.
        if (_disposed || Interlocked.Increment(ref _freeCount) > _maxFree)
        {
            if (!_disposed)
            {
                Interlocked.Decrement(ref _freeCount);
            }
            return;
        }
        _free.Enqueue(block);
    }

    /// <summary>One rented block; disposing it returns the block once (later disposes do nothing).</summary>
    private sealed class Lease(ReceiveBlockPool pool, byte[] block) : IMemoryOwner<byte>
    {
        private byte[]? _block = block;

        public Memory<byte> Memory => _block ?? throw new ObjectDisposedException(nameof(ReceiveBlockPool) + " block");

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _block, null) is { } returned)
            {
                pool.Return(returned);
            }
        }
    }

    /// <summary>Makes the pools Kestrel asks for (one per socket I/O queue), all of one block size, and keeps them for inspection.</summary>
    public sealed class Factory : IMemoryPoolFactory<byte>
    {
        private readonly ConcurrentQueue<ReceiveBlockPool> _pools = new();

        /// <summary>A factory of pools of <paramref name="blockSize"/>-byte blocks (validated by <see cref="ReceiveBlockPool"/>).</summary>
        public Factory(int blockSize, long retainedBytes = DefaultRetainedBytes)
        {
            // Validates here, at start-up, rather than when Kestrel first asks for a pool.
            using var probe = new ReceiveBlockPool(blockSize, retainedBytes);
            BlockSize = blockSize;
            RetainedBytes = retainedBytes;
        }

        /// <summary>Bytes of every block of the pools made.</summary>
        public int BlockSize { get; }

        /// <summary>Most returned bytes each pool keeps.</summary>
        public long RetainedBytes { get; }

        /// <summary>Every pool made so far.</summary>
        public IReadOnlyCollection<ReceiveBlockPool> Pools => _pools;

        /// <inheritdoc />
        public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
        {
            var pool = new ReceiveBlockPool(BlockSize, RetainedBytes);
            _pools.Enqueue(pool);
            return pool;
        }
    }
}
