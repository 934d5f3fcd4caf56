using Memo.Protocol.Blocks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Storage;

/// <summary>Block copies stored in files of their own (<see cref="CopyFiles"/>): writing, reading, unlinking, the sweep at open.</summary>
public sealed partial class SqliteSilo
{
    // Writer thread only: the copy files that rows replaced or removed in the transaction being built, each batch's
    // share marked by PendingCommit.ObsoleteFrom/To; unlinked once their batch has committed.
    private readonly List<(BlockAddress Address, long FileId)> _obsoleteFiles = [];
    // Batches whose copy files are to be written, taken by the copy file writer threads; unbounded, since every batch
    // in it also holds a caller waiting on its commit (the commit queue bounds them). Guarded by _fileWritesGate, on
    // which idle writer threads sleep (Monitor.Wait) until a batch comes or the silo closes: a thread blocked on a
    // channel's task spins first (Task.SpinThenBlockingWait, sched_yield), 1.7% of a node's CPU at 1 MiB puts.
    private readonly Queue<PendingCommit> _fileWrites = new();
    // Copy files that committed batches replaced or removed, unlinked by the same threads when no batch waits for its
    // files: an unlink frees the file's cached pages (2-3% of a node's CPU at 1 MiB puts), which the writer thread did
    // between its transactions before. Also guarded by _fileWritesGate. A crash before an unlink leaves a file that no
    // row names, which the sweep at open removes, as a crash between a commit and its unlinks always did.
    private readonly Queue<(BlockAddress Address, long FileId)> _unlinks = new();
    // Copy files that committed batches replaced or removed, kept (up to SqliteSiloOptions.CopyFileSpares) for the next
    // copy files to be written through instead of being unlinked (CopyFiles' design note, "Spares"); the most recent
    // first, whose pages are likeliest still cached. Also guarded by _fileWritesGate. Left on disk at a crash or a close,
    // they are files no row names, which the sweep at open removes.
    private readonly Stack<(BlockAddress Address, long FileId)> _spares = new();
    private long _copyFilesReused;
    private readonly object _fileWritesGate = new();
    private bool _fileWritesClosed;
    private readonly Thread[] _copyFileWriters;

    /// <summary>Copy files written through a spare (a replaced copy's file) instead of as new files, since the silo opened.</summary>
    internal long CopyFilesReused => Interlocked.Read(ref _copyFilesReused);

    /// <summary>The folder holding the copies stored in files.</summary>
    internal string CopyFileFolder => _copyFiles.Folder;

    /// <summary>The path of copy file <paramref name="fileId"/> of <paramref name="address"/> (for tests that damage one).</summary>
    internal string CopyFilePath(BlockAddress address, long fileId) => _copyFiles.PathOf(address, fileId);

    // Gives each copy above the threshold a file id and hands the batch to the copy file writer threads (write, fsync
    // the file, fsync its folder: CopyFiles.Write). Nothing to do for a batch with no such copy.
    private void StartCopyFileWrites(PendingCommit pending)
    {
        if (_options.CopyFileThreshold is not { } threshold || threshold <= 0)
        {
            return;
        }
        long[]? ids = null;
        var operations = pending.Batch.Operations;
        for (var i = 0; i < operations.Count; i++)
        {
            if (operations[i] is SiloOperation.PutBlockCopy copy && copy.Data.Length > threshold)
            {
                ids ??= new long[operations.Count];
                ids[i] = _copyFiles.NextId();
            }
        }
        if (ids is null)
        {
            return;
        }
        pending.FileIds = ids;
        pending.FilesCompletion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pending.FilesWritten = pending.FilesCompletion.Task;
        if (!TryQueueFileWrite(pending))
        {
            pending.FilesCompletion.TrySetException(new ObjectDisposedException(nameof(SqliteSilo), "The silo is closing or closed; the batch was not applied."));
        }
    }

    // Dedicated threads, as for the writer: each blocks in fsync. None when copies never go to files.
    private Thread[] StartCopyFileWriters()
    {
        if (_options.CopyFileThreshold is not { } threshold || threshold <= 0)
        {
            CloseFileWrites();
            return [];
        }
        var threads = new Thread[_options.CopyFileWriters];
        for (var i = 0; i < threads.Length; i++)
        {
            threads[i] = new Thread(RunCopyFileWriter) { IsBackground = true, Name = $"memo-silo-copy-files-{i}" };
            threads[i].Start();
        }
        return threads;
    }

    private void RunCopyFileWriter()
    {
        while (TakeFileWork(out var pending, out var unlink))
        {
            if (pending is not null)
            {
                WriteCopyFiles(pending);
            }
            else
            {
                UnlinkCopyFile(unlink.Address, unlink.FileId);
            }
        }
    }

    private bool TryQueueFileWrite(PendingCommit pending)
    {
        lock (_fileWritesGate)
        {
            if (_fileWritesClosed)
            {
                return false;
            }
            _fileWrites.Enqueue(pending);
            Monitor.Pulse(_fileWritesGate);
            return true;
        }
    }

    // The next batch (a caller waits for its files), else the next file to unlink; false once the silo closed and
    // both queues are empty.
    private bool TakeFileWork(out PendingCommit? pending, out (BlockAddress Address, long FileId) unlink)
    {
        unlink = default;
        lock (_fileWritesGate)
        {
            while (_fileWrites.Count == 0 && _unlinks.Count == 0)
            {
                if (_fileWritesClosed)
                {
                    pending = null;
                    return false;
                }
                Monitor.Wait(_fileWritesGate);
            }
            if (!_fileWrites.TryDequeue(out pending))
            {
                unlink = _unlinks.Dequeue();
            }
            return true;
        }
    }

    // Keeps files no committed row names as spares (up to the limit) and hands the rest to the copy file threads to
    // unlink; unlinks them here when the threads are closed (or there are none).
    private void QueueUnlinks(List<(BlockAddress Address, long FileId)> files, int from, int to)
    {
        lock (_fileWritesGate)
        {
            if (!_fileWritesClosed)
            {
                for (var i = from; i < to; i++)
                {
                    if (_spares.Count < _options.CopyFileSpares)
                    {
                        _spares.Push(files[i]);
                        continue;
                    }
                    _unlinks.Enqueue(files[i]);
                    Monitor.Pulse(_fileWritesGate);
                }
                return;
            }
        }
        for (var i = from; i < to; i++)
        {
            UnlinkCopyFile(files[i].Address, files[i].FileId);
        }
    }

    // No batch or unlink is queued after this; the threads finish the queued ones and end.
    private void CloseFileWrites()
    {
        lock (_fileWritesGate)
        {
            _fileWritesClosed = true;
            Monitor.PulseAll(_fileWritesGate);
        }
    }

    // Writes every copy file of the batch in order; the batch fails whole when one fails (its files written so far go).
    private void WriteCopyFiles(PendingCommit pending)
    {
        var ids = pending.FileIds!;
        var operations = pending.Batch.Operations;
        var written = 0;
        try
        {
            for (var i = 0; i < ids.Length; i++)
            {
                if (ids[i] > 0)
                {
                    var copy = (SiloOperation.PutBlockCopy)operations[i];
                    if (_copyFiles.Write(copy.Address, ids[i], copy.Data, TakeSpare()))
                    {
                        Interlocked.Increment(ref _copyFilesReused);
                    }
                    written = i + 1;
                }
            }
        }
        catch (Exception e)
        {
            DeleteNewCopyFiles(pending.Batch, ids.AsSpan(0, written));
            pending.FilesCompletion!.TrySetException(e);
            return;
        }
        pending.FilesCompletion!.TrySetResult();
    }

    private (BlockAddress Address, long FileId)? TakeSpare()
    {
        lock (_fileWritesGate)
        {
            return _spares.TryPop(out var spare) ? spare : null;
        }
    }

    // After the writer stopped (every queued batch committed, so their files were written): lets the threads finish
    // the batches that never reached the queue, waits for them, then unlinks the spares left.
    private async Task StopCopyFileWritersAsync()
    {
        CloseFileWrites();
        foreach (var thread in _copyFileWriters)
        {
            await Task.Run(thread.Join).ConfigureAwait(false);
        }
        while (TakeSpare() is { } spare)
        {
            UnlinkCopyFile(spare.Address, spare.FileId);
        }
    }

    // A batch that never reached the writer (cancelled or refused while waiting for room): its files go once written.
    private void DiscardCopyFiles(PendingCommit pending)
    {
        if (pending.FileIds is { } ids)
        {
            pending.FilesWritten.ContinueWith(
                _ => DeleteNewCopyFiles(pending.Batch, ids),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private void DeleteNewCopyFiles(SiloBatch batch, ReadOnlySpan<long> ids)
    {
        for (var i = 0; i < ids.Length; i++)
        {
            if (ids[i] > 0)
            {
                UnlinkCopyFile(((SiloOperation.PutBlockCopy)batch.Operations[i]).Address, ids[i]);
            }
        }
    }

    private void UnlinkCopyFile(BlockAddress address, long fileId)
    {
        if (!_copyFiles.TryDelete(address, fileId, out var error))
        {
            Log.CopyFileNotRemoved(_logger, _copyFiles.PathOf(address, fileId), error!);
        }
    }

    /// <summary>
    /// Writer thread, before a group is applied: a batch whose copy files could not be written fails alone (it is left
    /// out of the transaction). Returns the batches to apply.
    /// </summary>
    private static List<PendingCommit> WithoutFailedCopyFiles(List<PendingCommit> group)
    {
        if (group.TrueForAll(p => p.FilesWritten.IsCompletedSuccessfully))
        {
            return group;
        }
        var ready = new List<PendingCommit>(group.Count);
        foreach (var pending in group)
        {
            if (pending.FilesWritten.IsCompletedSuccessfully)
            {
                ready.Add(pending);
            }
            else
            {
                pending.Error = pending.FilesWritten.Exception?.InnerException
                    ?? new OperationCanceledException("Writing the batch's copy files was cancelled.");
            }
        }
        return ready;
    }

    /// <summary>
    /// Writer thread, once a group's tasks are completed: has the copy file threads unlink the files of rows the
    /// committed batches replaced or removed, and unlinks the new files of the batches that failed before their commit.
    /// </summary>
    private void FinishCopyFiles(List<PendingCommit> group)
    {
        foreach (var pending in group)
        {
            if (pending.Error is null)
            {
                if (pending.ObsoleteTo > pending.ObsoleteFrom)
                {
                    QueueUnlinks(_obsoleteFiles, pending.ObsoleteFrom, pending.ObsoleteTo);
                }
            }
            else if (pending.FileIds is { } ids && !pending.CommitUncertain && pending.FilesWritten.IsCompletedSuccessfully)
            {
                DeleteNewCopyFiles(pending.Batch, ids);
            }
        }
        _obsoleteFiles.Clear();
    }

    // With `headOnly`, a copy file's block less its payload (CopyFiles.ReadHead); a row's bytes are whole either way.
    private async ValueTask<byte[]?> ReadBlockFromFileAsync(ValueTask<StoredBlock> read, BlockAddress address, bool headOnly, CancellationToken cancellationToken)
    {
        var stored = await read.ConfigureAwait(false);
        while (stored.InFile)
        {
            var data = headOnly
                ? _copyFiles.ReadHead(address, stored.FileId, stored.FileLength)
                : _copyFiles.Read(address, stored.FileId, stored.FileLength);
            if (data is not null)
            {
                return data;
            }
            // No file: a commit may have replaced or removed the row since it was read, and unlinked its file. Read the
            // row again; if it still names the same file, the file was lost behind the silo's back.
            var again = await ReadAsync(address, static (reader, a) => reader.ReadBlock(a), cancellationToken).ConfigureAwait(false);
            if (again.InFile && again.FileId == stored.FileId)
            {
                throw new SiloCorruptException(_copyFiles.PathOf(address, stored.FileId),
                    $"the copy file of block {address} that its row in '{FilePath}' names is missing");
            }
            stored = again;
        }
        return stored.Data;
    }

    /// <summary>
    /// At open, before the writer starts: opens the copy folder, removes the files no row names (a crash between a
    /// file and its row's commit, or between a commit and its unlinks) and, with
    /// <see cref="SqliteSiloOptions.CheckIntegrityOnOpen"/>, checks that every file a row names is there with its length.
    /// </summary>
    private static CopyFiles OpenCopyFiles(SqliteConnection connection, string path, SqliteSiloOptions options, ILogger logger)
    {
        var files = CopyFiles.Open(path, SystemCopyFileDisk.For(Path.GetDirectoryName(path)!),
            flush: (PlantedFaults & (SiloFaults.AcknowledgeBeforeFsync | SiloFaults.CopyFilesBeforeFsync)) == 0);
        using var lookup = connection.CreateCommand();
        lookup.CommandText = "SELECT file_id FROM block_copies WHERE address = $address";
        var parameter = lookup.Parameters.Add("$address", SqliteType.Blob);
        // Only the files on disk are looked up: an empty copy folder costs no query (a damaged table is then met by the
        // read that needs it, as with every other table).
        var swept = files.Sweep(address =>
        {
            parameter.Value = address.ToArray();
            return lookup.ExecuteScalar() is long id ? id : null;
        });
        if (swept.Removed > 0 || swept.Foreign > 0)
        {
            Log.CopyFilesSwept(logger, files.Folder, swept.Kept, swept.Removed, swept.Foreign);
        }
        if (options.CheckIntegrityOnOpen)
        {
            CheckCopyFiles(connection, files);
        }
        return files;
    }

    private static void CheckCopyFiles(SqliteConnection connection, CopyFiles files)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT address, file_id, file_length FROM block_copies WHERE file_id IS NOT NULL";
        var problems = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read() && problems.Count < 10)
        {
            var address = BlockAddress.FromBytes(reader.GetFieldValue<byte[]>(0));
            var info = new FileInfo(files.PathOf(address, reader.GetInt64(1)));
            var length = reader.GetInt64(2);
            if (!info.Exists)
            {
                problems.Add($"the copy file of block {address} is missing");
            }
            else if (info.Length != length)
            {
                problems.Add($"the copy file of block {address} holds {info.Length} bytes where its row says {length}");
            }
        }
        if (problems.Count > 0)
        {
            throw new SiloCorruptException(files.Folder, "the copy files check failed: " + string.Join("; ", problems));
        }
    }
}
