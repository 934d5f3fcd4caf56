using Memo.Node;
using Memo.Node.Raft;
using Memo.Node.Shards;
using Memo.Node.Storage;

namespace Memo.Raft.Tests.Storage;

/// <summary>The contract on the in-memory store (its "durable medium" is itself).</summary>
public sealed class MemoryRaftLogStoreContractTests : RaftLogStoreContract
{
    private MemoryRaftLogStore _store = new();

    protected override IRaftLogStore Store => _store;

    protected override Task BootstrapAsync(RaftMembership membership)
    {
        _store = MemoryRaftLogStore.Bootstrap(membership);
        return Task.CompletedTask;
    }

    protected override Task PersistAsync(Ready ready)
    {
        _store.Save(ready);
        return Task.CompletedTask;
    }

    protected override Task CreateSnapshotAsync(RaftSnapshot snapshot, LogIndex compactThrough)
    {
        _store.CreateSnapshot(snapshot, compactThrough);
        return Task.CompletedTask;
    }

    protected override Task ReopenAsync()
    {
        _store = _store.Clone();
        return Task.CompletedTask;
    }
}

/// <summary>The contract on <see cref="SiloRaftStorage"/>, reloaded from the silo on every reopen.</summary>
public abstract class SiloRaftStorageContract : RaftLogStoreContract
{
    private static readonly ShardId Shard = new(7);
    private SiloRaftStorage? _storage;

    protected ISilo Silo { get; set; } = null!;

    protected override IRaftLogStore Store => _storage!;

    protected override async Task BootstrapAsync(RaftMembership membership)
    {
        var batch = new SiloBatch();
        _storage = SiloRaftStorage.Bootstrap(Shard, membership, batch);
        await Silo.CommitAsync(batch);
    }

    protected override async Task PersistAsync(Ready ready)
    {
        var batch = new SiloBatch();
        _storage!.Stage(ready, batch);
        if (!batch.IsEmpty)
        {
            await Silo.CommitAsync(batch);
        }
    }

    protected override async Task CreateSnapshotAsync(RaftSnapshot snapshot, LogIndex compactThrough)
    {
        var batch = new SiloBatch();
        _storage!.StageSnapshot(snapshot, compactThrough, batch);
        await Silo.CommitAsync(batch);
    }

    protected override async Task ReopenAsync()
    {
        await ReopenSiloAsync();
        _storage = await SiloRaftStorage.LoadAsync(Silo, Shard);
    }

    /// <summary>Closes and reopens the silo when it has a durable medium.</summary>
    protected virtual Task ReopenSiloAsync() => Task.CompletedTask;
}

public sealed class SiloRaftStorageOnMemorySiloTests : SiloRaftStorageContract
{
    public SiloRaftStorageOnMemorySiloTests() => Silo = new MemorySilo();
}

public sealed class SiloRaftStorageOnSqliteSiloTests : SiloRaftStorageContract
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "memo-raft-" + Guid.NewGuid().ToString("N"));

    public override async Task InitializeAsync() => Silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory });

    public override async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    protected override async Task ReopenSiloAsync()
    {
        await Silo.DisposeAsync();
        Silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = _directory });
    }
}
