using Memo.Testing;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Storage;

/// <summary>The silo contract over <see cref="EntryCacheSilo"/> in front of SQLite, with a budget small enough that
/// the model check also runs with the cache full.</summary>
public sealed class EntryCacheSiloContractTests(ITestOutputHelper output) : DurableSiloContract(output)
{
    private readonly TempDirectory _root = new();
    private int _created;

    protected override int ModelCheckCases => 60;

    private readonly Dictionary<ISilo, string> _folders = new(ReferenceEqualityComparer.Instance);

    private async Task<ISilo> OpenAsync(string folder)
    {
        var silo = new EntryCacheSilo(await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = folder }), 4096);
        lock (_folders)
        {
            _folders[silo] = folder;
        }
        return silo;
    }

    protected override Task<ISilo> CreateSiloAsync() => OpenAsync(Path.Combine(_root.Path, $"silo{Interlocked.Increment(ref _created)}"));

    protected override async Task<ISilo> ReopenAsync(ISilo silo)
    {
        string folder;
        lock (_folders)
        {
            folder = _folders[silo];
        }
        await silo.DisposeAsync();
        return await OpenAsync(folder);
    }

    protected override void SetFaultInjector(ISilo silo, Func<SiloOperation, Exception?>? injector) =>
        ((SqliteSilo)((EntryCacheSilo)silo).Inner).FaultInjector = injector;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _root.Dispose();
    }
}

/// <summary>What the cache adds: hits, eviction by writes, the budget, and no stale value from a read that raced a commit.</summary>
public sealed class EntryCacheSiloTests
{
    private static readonly ShardId S0 = new(0);

    [Fact]
    public async Task A_second_read_is_a_hit_and_a_write_evicts_so_the_next_read_sees_it()
    {
        await using var silo = new EntryCacheSilo(new MemorySilo(), 1 << 20);
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [1]));

        Assert.Equal([1], await silo.ReadEntryAsync("k"));
        Assert.Equal([1], await silo.ReadEntryAsync("k"));
        Assert.Equal((1, 1), (silo.Hits, silo.Misses));

        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [2]));
        Assert.Equal([2], await silo.ReadEntryAsync("k"));
        await silo.CommitAsync(new SiloBatch().DeleteEntry("k"));
        Assert.Null(await silo.ReadEntryAsync("k"));
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [3]));
        Assert.Equal([3], await silo.ReadEntryAsync("k"));
        await silo.CommitAsync(new SiloBatch().ClearShard(S0));
        Assert.Null(await silo.ReadEntryAsync("k"));
        Assert.Equal(0, silo.CachedBytes);
    }

    [Fact]
    public async Task A_full_cache_serves_misses_without_keeping_them()
    {
        await using var silo = new EntryCacheSilo(new MemorySilo(), 200);
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "a", new byte[50]).PutEntry(S0, "b", new byte[50]));

        await silo.ReadEntryAsync("a");
        await silo.ReadEntryAsync("b");
        await silo.ReadEntryAsync("b");

        Assert.Equal(0, silo.Hits);
        Assert.True(silo.CachedBytes <= 200, $"{silo.CachedBytes} bytes cached");
        Assert.Equal(new byte[50], await silo.ReadEntryAsync("b"));
    }

    [Fact]
    public async Task A_disposed_cache_answers_no_read_not_even_one_it_holds()
    {
        var silo = new EntryCacheSilo(new MemorySilo(), 1 << 20);
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [1]));
        Assert.Equal([1], await silo.ReadEntryAsync("k"));
        Assert.Equal([1], await silo.ReadEntryAsync("k"));
        Assert.Equal(1, silo.Hits);

        await silo.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await silo.ReadEntryAsync("k"));
    }

    [Fact]
    public async Task A_read_that_began_before_a_commit_does_not_cache_the_old_value_after_it()
    {
        var inner = new PausedReadSilo(new MemorySilo());
        await using var silo = new EntryCacheSilo(inner, 1 << 20);
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [1]));

        // The read takes the old value from the inner silo, then stalls; meanwhile the new value commits.
        inner.Pause();
        var slowRead = silo.ReadEntryAsync("k").AsTask();
        await inner.Paused;
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [2]));
        inner.Resume();

        Assert.Equal([1], await slowRead);
        Assert.Equal([2], await silo.ReadEntryAsync("k"));
        Assert.Equal([2], await silo.ReadEntryAsync("k"));
    }

    /// <summary>A silo whose next entry read, once paused, holds the value it read until resumed.</summary>
    private sealed class PausedReadSilo(ISilo inner) : DelegatingSilo(inner)
    {
        private TaskCompletionSource? _resume;
        private TaskCompletionSource? _gate;
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Paused => _paused.Task;

        public void Pause() => _resume = _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Resume() => _gate!.TrySetResult();

        public override async ValueTask<byte[]?> ReadEntryAsync(string key, CancellationToken cancellationToken = default)
        {
            var value = await Inner.ReadEntryAsync(key, cancellationToken);
            if (Interlocked.Exchange(ref _resume, null) is { } resume)
            {
                _paused.TrySetResult();
                await resume.Task;
            }
            return value;
        }

    }
}
