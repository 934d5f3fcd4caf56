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

/// <summary>What the cache adds: hits, writes' values taken in (evictions for deletes and failed writes), the budget, and
/// no stale value from a read that raced a commit or from commits that completed out of order.</summary>
public sealed class EntryCacheSiloTests
{
    private static readonly ShardId S0 = new(0);

    [Fact]
    public async Task A_second_read_is_a_hit_and_a_write_leaves_its_value_for_the_next_read()
    {
        await using var silo = new EntryCacheSilo(new MemorySilo(), 1 << 20);
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [1]));

        Assert.Equal([1], await silo.ReadEntryAsync("k"));
        Assert.Equal([1], await silo.ReadEntryAsync("k"));
        Assert.Equal((2, 0), (silo.Hits, silo.Misses));

        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [2]));
        Assert.Equal([2], await silo.ReadEntryAsync("k"));
        await silo.CommitAsync(new SiloBatch().DeleteEntry("k"));
        Assert.Null(await silo.ReadEntryAsync("k"));
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [3]));
        Assert.Equal([3], await silo.ReadEntryAsync("k"));
        Assert.Equal((4, 1), (silo.Hits, silo.Misses));
        await silo.CommitAsync(new SiloBatch().ClearShard(S0));
        Assert.Null(await silo.ReadEntryAsync("k"));
        Assert.Equal(0, silo.CachedBytes);
    }

    [Fact]
    public async Task The_cache_keeps_its_own_copy_of_a_written_value()
    {
        await using var silo = new EntryCacheSilo(new MemorySilo(), 1 << 20);
        var value = new byte[] { 1 };
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", value));
        value[0] = 9;

        var read = await silo.ReadEntryAsync("k");
        Assert.Equal([1], read);
        read![0] = 8;
        Assert.Equal([1], await silo.ReadEntryAsync("k"));
        Assert.Equal(2, silo.Hits);
    }

    [Fact]
    public async Task A_full_cache_keeps_no_new_key_written_but_a_cached_key_takes_its_new_value()
    {
        // Room for one 50-byte entry (with its overhead), not two.
        await using var silo = new EntryCacheSilo(new MemorySilo(), 200);
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "a", new byte[50]));
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "b", new byte[50]));

        Assert.Equal(new byte[50], await silo.ReadEntryAsync("a"));
        Assert.Equal(new byte[50], await silo.ReadEntryAsync("b"));
        Assert.Equal((1, 1), (silo.Hits, silo.Misses));

        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "a", new byte[60]));
        Assert.Equal(new byte[60], await silo.ReadEntryAsync("a"));
        Assert.Equal(2, silo.Hits);
        Assert.True(silo.CachedBytes <= 200, $"{silo.CachedBytes} bytes cached");

        // A new value too large for the budget evicts the old one rather than leaving it.
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "a", new byte[300]));
        Assert.Equal(new byte[300], await silo.ReadEntryAsync("a"));
        Assert.Equal(0, silo.CachedBytes);
    }

    [Fact]
    public async Task A_failed_commit_that_landed_all_the_same_leaves_no_stale_value()
    {
        var inner = new LandThenFailSilo(new MemorySilo());
        await using var silo = new EntryCacheSilo(inner, 1 << 20);
        await silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [1]));
        Assert.Equal([1], await silo.ReadEntryAsync("k"));

        inner.FailNext = true;
        await Assert.ThrowsAsync<IOException>(() => silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [2])));

        Assert.Equal([2], await silo.ReadEntryAsync("k"));
    }

    [Fact]
    public async Task Commits_that_complete_out_of_order_leave_the_newest_value()
    {
        var inner = new HeldCommitSilo(new MemorySilo());
        await using var silo = new EntryCacheSilo(inner, 1 << 20);

        var first = silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [1]));
        var second = silo.CommitAsync(new SiloBatch().PutEntry(S0, "k", [2]));
        // Both landed in call order; their completions arrive newest first.
        inner.Complete(1);
        await inner.Completed(1);
        inner.Complete(0);
        await Task.WhenAll(first, second);

        Assert.Equal([2], await silo.ReadEntryAsync("k"));
        Assert.Equal(1, silo.Hits);
    }

    [Fact]
    public async Task A_full_cache_serves_misses_without_keeping_them()
    {
        var inner = new MemorySilo();
        await using var silo = new EntryCacheSilo(inner, 200);
        // Written underneath: the reads below are misses, and only the first fits the budget.
        await inner.CommitAsync(new SiloBatch().PutEntry(S0, "a", new byte[50]).PutEntry(S0, "b", new byte[50]));

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
        Assert.Equal(1, silo.Hits);

        await silo.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await silo.ReadEntryAsync("k"));
    }

    [Fact]
    public async Task A_read_that_began_before_a_commit_does_not_cache_the_old_value_after_it()
    {
        var inner = new PausedReadSilo(new MemorySilo());
        await using var silo = new EntryCacheSilo(inner, 1 << 20);
        // Written underneath, so the cache does not hold it and the read below goes to the inner silo.
        await inner.CommitAsync(new SiloBatch().PutEntry(S0, "k", [1]));

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

    /// <summary>A silo whose commit, when told, lands and then fails (a write whose outcome the caller cannot know).</summary>
    private sealed class LandThenFailSilo(ISilo inner) : DelegatingSilo(inner)
    {
        public bool FailNext { get; set; }

        public override async Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default)
        {
            await Inner.CommitAsync(batch, cancellationToken);
            if (FailNext)
            {
                FailNext = false;
                throw new IOException("planted: the commit's outcome is unknown");
            }
        }
    }

    /// <summary>A silo that lands each commit at once but completes it only when the test says, in any order.</summary>
    private sealed class HeldCommitSilo(ISilo inner) : DelegatingSilo(inner)
    {
        private readonly List<(TaskCompletionSource Release, Task Done)> _held = [];

        public override Task CommitAsync(SiloBatch batch, CancellationToken cancellationToken = default)
        {
            var landed = Inner.CommitAsync(batch, cancellationToken);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var done = Task.WhenAll(landed, release.Task);
            lock (_held)
            {
                _held.Add((release, done));
            }
            return done;
        }

        public void Complete(int call)
        {
            lock (_held)
            {
                _held[call].Release.TrySetResult();
            }
        }

        public Task Completed(int call)
        {
            lock (_held)
            {
                return _held[call].Done;
            }
        }
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
