using Memo.Node.Metrics;

namespace Memo.Node.Storage;

/// <summary>The writer thread: drains the queue in groups and commits each group in one transaction.</summary>
public sealed partial class SqliteSilo
{
    private void RunWriter()
    {
        var group = new List<PendingCommit>();
        try
        {
            while (HasDeferredTail() || WaitForBatches())
            {
                WaitForHeadCopyFiles();
                lock (_writeGate)
                {
                    group.AddRange(_deferredTail);
                    _deferredTail.Clear();
                    TakeGroup(group);
                    SplitDeferredTail(group);
                    if (group.Count > 1)
                    {
                        NoteContention();
                    }
                    CommitGroup(group);
                }
                group.Clear();
            }
        }
        catch (Exception ex)
        {
            // A bug in the loop itself: fail every waiting caller rather than leave them hanging.
            Log.WriterFailed(_logger, FilePath, ex);
            _writer.TryRollback();
            var error = new InvalidOperationException($"The writer of silo '{FilePath}' stopped after an unexpected error.", ex);
            _queue.Writer.TryComplete(error);
            foreach (var pending in group.Concat(_deferredTail))
            {
                pending.Completion.TrySetException(error);
            }
            while (_queue.Reader.TryRead(out var pending))
            {
                pending.Completion.TrySetException(error);
            }
        }
        finally
        {
            _writerStopped.TrySetResult();
        }
    }

    /// <summary>
    /// Commits <paramref name="pending"/> on the caller's thread when commits come one at a time: a lone batch then
    /// skips two thread hand-offs (waking the writer thread, and the completion's continuation), which the latency
    /// probe measured at 100-150 µs of a three-node put's 1.4 ms at one caller. Only while there is no contention: a
    /// sign of concurrency (a group of several batches, a batch queued or the gate held when one tries) turns inline
    /// commits off for <see cref="InlinePauseMs"/> milliseconds. Even so, measured at 64 callers on three nodes, the
    /// servers spent 1.4-1.7 ms of CPU per put with inline commits against 0.8-1.2 ms without (a caller blocked in an
    /// fsync holds a thread-pool thread, and the pool adds threads), so <see cref="SqliteSiloOptions.InlineCommits"/>
    /// is off by default: for deployments with one writer at a time. The caller blocks for the commit and its fsync;
    /// only one caller at a time can, since it holds the gate. Never with a test seam in use: a fault injector runs on
    /// the writer thread and may block it.
    /// </summary>
    /// <returns>True when the batch was committed (or failed) here; its task is then already complete.</returns>
    private bool TryCommitInline(PendingCommit pending)
    {
        if (!_options.InlineCommits || FaultInjector is not null || _plantedFaults != SiloFaults.None
            || Environment.TickCount64 - Volatile.Read(ref _lastContention) < InlinePauseMs)
        {
            return false;
        }
        if (_queue.Reader.TryPeek(out _) || !_writeGate.TryEnter())
        {
            NoteContention();
            return false;
        }
        try
        {
            // Checked under the gate: the writer thread takes its group under it, so an empty queue here means every
            // batch queued before this one is already committed (FIFO holds).
            if (_inlineClosed || _deferredTail.Count > 0 || _queue.Reader.TryPeek(out _))
            {
                return false;
            }
            CommitGroup([pending]);
            if (_queue.Reader.TryPeek(out _))
            {
                // Someone queued while this caller held the gate.
                NoteContention();
            }
            return true;
        }
        finally
        {
            _writeGate.Exit();
        }
    }

    private void NoteContention() => Volatile.Write(ref _lastContention, Environment.TickCount64);

    /// <summary>Blocks the writer thread until a batch is queued; false once the queue is closed and empty.</summary>
    private bool WaitForBatches()
    {
        if (_writerSpinTicks > 0 && !_queue.Reader.TryPeek(out _))
        {
            SpinForBatch();
        }
        var wait = _queue.Reader.WaitToReadAsync();
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    // Polls the queue for up to WriterSpin (SqliteSiloOptions.WriterSpin says why), yielding the core to any other
    // ready thread between polls but never sleeping.
    private void SpinForBatch()
    {
        var until = System.Diagnostics.Stopwatch.GetTimestamp() + _writerSpinTicks;
        var spinner = default(SpinWait);
        while (!_queue.Reader.TryPeek(out _) && !_queue.Reader.Completion.IsCompleted && System.Diagnostics.Stopwatch.GetTimestamp() < until)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    private bool HasDeferredTail()
    {
        lock (_writeGate)
        {
            return _deferredTail.Count > 0;
        }
    }

    // The batch at the head of the queue commits first (FIFO), so the writer waits for its copy files, if any are still
    // being written; batches queued meanwhile join its group. Outside the gate: an inline commit needs an empty queue.
    // Not while a deferred tail is held: that tail commits first, without the head.
    private void WaitForHeadCopyFiles()
    {
        if (_deferredTail.Count == 0 && _queue.Reader.TryPeek(out var head) && !head.FilesWritten.IsCompleted)
        {
            head.FilesWritten.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Holds back the deferred batches that end a group which must flush anyway: they commit first in the next group
    /// (on their own and unflushed when nothing else is queued by then). A replica queues the application of committed
    /// entries right behind its flushed log batch, and the log batch's fsync is what its answer or acknowledgement waits
    /// for: measured here, each further page in an fsynced SQLite commit adds 30-40 µs. Queue order, hence FIFO
    /// durability, is kept: the tail stays ahead of everything queued after it, and no inline commit runs while it is
    /// held.
    /// </summary>
    private void SplitDeferredTail(List<PendingCommit> group)
    {
        var lastFlushed = group.FindLastIndex(p => !p.Batch.FlushDeferred);
        if (lastFlushed < 0 || lastFlushed == group.Count - 1)
        {
            return;
        }
        _deferredTail.AddRange(group.Skip(lastFlushed + 1));
        group.RemoveRange(lastFlushed + 1, group.Count - lastFlushed - 1);
    }

    /// <summary>
    /// Takes the longest prefix of the queue within the group limits (at least one batch), after any batches the group
    /// already holds, whose copy files are all written: a batch still writing them ends the group, which need not wait
    /// for it.
    /// </summary>
    private void TakeGroup(List<PendingCommit> group)
    {
        long operations = 0;
        long bytes = 0;
        foreach (var held in group)
        {
            operations += held.Operations;
            bytes += held.Bytes;
        }
        while (_queue.Reader.TryPeek(out var next))
        {
            if (group.Count > 0 && (operations + next.Operations > _options.MaxBatchOperations || bytes + next.Bytes > _options.MaxBatchBytes
                || !next.FilesWritten.IsCompleted))
            {
                break;
            }
            _queue.Reader.TryRead(out _);
            group.Add(next);
            operations += next.Operations;
            bytes += next.Bytes;
        }
    }

    /// <summary>
    /// Applies the group's batches in order and commits once (without savepoints when nothing fails, else each under
    /// its own savepoint), then completes every batch's task in queue order.
    /// </summary>
    private void CommitGroup(List<PendingCommit> group)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.SiloBegin, group.Count);
        try
        {
            CommitGroupInOrder(group);
            Diagnostics.LatencyProbe.Mark(Diagnostics.ProbeStage.SiloEnd);
            FinishCopyFiles(group);
        }
        finally
        {
            long operations = 0;
            long bytes = 0;
            foreach (var pending in group)
            {
                operations += pending.Operations;
                bytes += pending.Bytes;
            }
            NodeMetrics.RecordCommit(operations, bytes, _options.Synchronous == SqliteSynchronousMode.Full && _flushingOnCommit, started);
        }
    }

    private void CommitGroupInOrder(List<PendingCommit> group)
    {
        // The planted bug keeps the writer at synchronous=OFF (set at open) whatever the group asks for.
        if (_options.Synchronous == SqliteSynchronousMode.Full && (_plantedFaults & SiloFaults.AcknowledgeBeforeFsync) == 0)
        {
            // A group of deferred batches only commits (no flush); any other batch flushes the whole log, which makes
            // every earlier commit durable too, so "a later batch durable implies an earlier one" still holds.
            var flush = group.Exists(p => !p.Batch.FlushDeferred);
            if (flush != _flushingOnCommit)
            {
                _writer.SetFlushOnCommit(flush);
                _flushingOnCommit = flush;
            }
        }
        var ready = WithoutFailedCopyFiles(group);
        if (TryCommitWithoutSavepoints(ready))
        {
            CompleteInOrder(group);
            return;
        }
        var remaining = ready;
        while (remaining.Count > 0)
        {
            try
            {
                _writer.Begin();
            }
            catch (Exception ex)
            {
                Fail(remaining, ex);
                break;
            }

            var applied = new List<PendingCommit>(remaining.Count);
            List<PendingCommit>? retry = null;
            for (var i = 0; i < remaining.Count; i++)
            {
                if (TryApply(remaining[i]))
                {
                    applied.Add(remaining[i]);
                }
                else if (!_writer.TryRollbackToSavepoint())
                {
                    // SQLite aborted the whole transaction (I/O error, disk full...): the batches applied so far
                    // in it are gone too. Each round fails at least one batch, so this terminates.
                    _writer.TryRollback();
                    _obsoleteFiles.Clear();
                    retry = [.. applied, .. remaining.Skip(i + 1)];
                    Log.TransactionAborted(_logger, FilePath, retry.Count);
                    break;
                }
            }
            if (retry is not null)
            {
                remaining = retry;
                continue;
            }

            CommitOrFail(applied);
            break;
        }

        CompleteInOrder(group);
    }

    // Completing in queue order keeps "b completed implies a completed" for callers, failures included.
    private static void CompleteInOrder(List<PendingCommit> group)
    {
        foreach (var pending in group)
        {
            if (pending.Error is null)
            {
                pending.Completion.TrySetResult();
            }
            else
            {
                pending.Completion.TrySetException(pending.Error);
            }
        }
    }

    /// <summary>
    /// The common case first: every batch of the group applied and committed in one transaction with no savepoint
    /// (two statements fewer per batch: a Raft write is a handful of rows, so savepoints were a third of the writer's
    /// statements). When any write fails, the whole transaction is rolled back and false sends the group to the
    /// savepoint path, which applies the batches again and fails only the ones that fail; nothing was completed yet.
    /// </summary>
    private bool TryCommitWithoutSavepoints(List<PendingCommit> group)
    {
        try
        {
            _writer.Begin();
            foreach (var pending in group)
            {
                ApplyOperations(pending);
            }
        }
        catch (Exception)
        {
            _writer.TryRollback();
            _obsoleteFiles.Clear();
            return false;
        }
        CommitOrFail(group);
        return true;
    }

    // Commits the open transaction; when COMMIT itself fails, every batch in it fails with that error.
    private void CommitOrFail(List<PendingCommit> applied)
    {
        try
        {
            _writer.Commit();
            Interlocked.Increment(ref _transactions);
        }
        catch (Exception ex)
        {
            Fail(applied, ex);
            foreach (var pending in applied)
            {
                pending.CommitUncertain = true;
            }
        }
    }

    private void Fail(List<PendingCommit> batches, Exception exception)
    {
        var error = Translate(exception);
        Log.CommitFailed(_logger, FilePath, batches.Count, error);
        NodeMetrics.RecordCommitFailures(batches.Count);
        _writer.TryRollback();
        foreach (var pending in batches)
        {
            pending.Error = error;
        }
    }

    // Every write of one batch, each after the test seam's fault check.
    private void ApplyOperations(PendingCommit pending)
    {
        var injector = FaultInjector;
        var operations = pending.Batch.Operations;
        var fileIds = pending.FileIds;
        pending.ObsoleteFrom = _obsoleteFiles.Count;
        for (var i = 0; i < operations.Count; i++)
        {
            if (injector?.Invoke(operations[i]) is { } fault)
            {
                throw fault;
            }
            _writer.Apply(operations[i], fileIds is null ? 0 : fileIds[i], _obsoleteFiles);
        }
        pending.ObsoleteTo = _obsoleteFiles.Count;
    }

    /// <summary>Applies one batch inside a savepoint; false (with the error recorded) when it failed.</summary>
    private bool TryApply(PendingCommit pending)
    {
        var operations = pending.Batch.Operations;
        if (operations.Count == 0)
        {
            return true;
        }
        try
        {
            _writer.Savepoint();
            ApplyOperations(pending);
            _writer.ReleaseSavepoint();
            return true;
        }
        catch (Exception ex)
        {
            // Its writes are rolled back to the savepoint (or with the whole transaction): so are the files it made obsolete.
            _obsoleteFiles.RemoveRange(pending.ObsoleteFrom, _obsoleteFiles.Count - pending.ObsoleteFrom);
            pending.Error = Translate(ex);
            Log.BatchFailed(_logger, FilePath, operations.Count, pending.Error);
            return false;
        }
    }

    private Exception Translate(Exception exception) =>
        exception is Microsoft.Data.Sqlite.SqliteException sqlite && IsCorruption(sqlite)
            ? new SiloCorruptException(FilePath, sqlite.Message, sqlite)
            : exception;
}
