namespace Memo.Testing.PowerLoss;

/// <summary>
/// A data directory whose SQLite files (and the silo's copy files, <see cref="PowerLossCopyFiles"/>) can lose power: <see cref="CutPower"/> stops every write at that instant,
/// and once the files are closed <see cref="RestoreAfterCut"/> rewinds them to what a disk would hold after the cut
/// (see <see cref="PowerLossVfs"/> for the model). Attach before the silo opens; dispose to detach.
/// </summary>
/// <remarks>
/// Usage: attach, open a silo (or start a node) on the directory, work, <see cref="CutPower"/>, close the silo (its
/// writes now fail, so closing flushes nothing), <see cref="RestoreAfterCut"/>, open it again.
/// </remarks>
public sealed class PowerLossDisk : IDisposable
{
    private readonly Dictionary<string, List<UnsyncedChange>> _unsynced = new(StringComparer.Ordinal);
    private readonly string _directory;
    private int _openFiles;
    private bool _cut;
    private long _operationsBeforeCut = -1;

    private readonly PowerLossCopyFiles _copyFiles;

    private PowerLossDisk(string directory)
    {
        _directory = directory;
        _copyFiles = new PowerLossCopyFiles(this);
    }

    /// <summary>Serialises writes, syncs and the cut (held across a real fsync).</summary>
    internal object Gate { get; } = new();

    /// <summary>Called under <see cref="Gate"/> before each write, truncate or sync: true when the power is (now) cut.</summary>
    internal bool IsCutBeforeOperation()
    {
        if (!_cut && _operationsBeforeCut > 0 && --_operationsBeforeCut == 0)
        {
            _cut = true;
            Cuts++;
        }
        return _cut;
    }

    /// <summary>fsyncs that reached the disk, over the disk's life.</summary>
    public long Syncs { get; private set; }

    /// <summary>Power cuts so far.</summary>
    public int Cuts { get; private set; }

    /// <summary>Unsynced writes and truncates undone by the cuts so far (torn ones included).</summary>
    public long ChangesLost { get; private set; }

    /// <summary>Writes torn by the cuts so far (partly kept).</summary>
    public long WritesTorn { get; private set; }

    /// <summary>Unsynced writes the disk happened to keep whole at the cuts so far (Tear mode).</summary>
    public long ChangesKept { get; private set; }

    /// <summary>Attaches a power-loss disk to <paramref name="directory"/> (created when missing).</summary>
    public static PowerLossDisk Attach(string directory)
    {
        Directory.CreateDirectory(directory);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        var disk = new PowerLossDisk(full);
        PowerLossVfs.Attach(full, disk);
        // The silo's copy files (large block copies, files of their own) go through the same disk.
        Memo.Node.Storage.SystemCopyFileDisk.Override(full, disk._copyFiles);
        return disk;
    }

    /// <summary>
    /// Cuts the power now: from this instant every write, truncate, sync and delete of a file in the directory fails
    /// (SQLITE_IOERR) without touching it. A sync in progress finishes first and counts as durable.
    /// </summary>
    public void CutPower()
    {
        lock (Gate)
        {
            if (!_cut)
            {
                _cut = true;
                Cuts++;
            }
        }
    }

    /// <summary>
    /// Cuts the power just before the <paramref name="operations"/>-th write, truncate or sync of a file in the
    /// directory from now (that operation fails): a cut in the middle of a transaction or between its writes and its
    /// fsync, at a point a seed can choose.
    /// </summary>
    public void CutPowerBefore(long operations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(operations, 1);
        lock (Gate)
        {
            _operationsBeforeCut = operations;
        }
    }

    /// <summary>True once the power is cut (by <see cref="CutPower"/> or <see cref="CutPowerBefore"/>).</summary>
    public bool PowerIsCut
    {
        get
        {
            lock (Gate)
            {
                return _cut;
            }
        }
    }

    /// <summary>
    /// After <see cref="CutPower"/> and once every file is closed: rewinds each file to what the disk holds after
    /// the cut (<paramref name="mode"/>, random choices from <paramref name="random"/>), deletes the WAL index and
    /// powers the disk on again. Returns a one-line account of what was lost.
    /// </summary>
    /// <exception cref="InvalidOperationException">The power was not cut, or a file is still open.</exception>
    public string RestoreAfterCut(PowerLossMode mode, Random random)
    {
        lock (Gate)
        {
            if (!_cut)
            {
                throw new InvalidOperationException("RestoreAfterCut needs a CutPower first.");
            }
            if (_openFiles != 0)
            {
                throw new InvalidOperationException($"{_openFiles} file(s) under {_directory} are still open: close the silo before restoring.");
            }
            long lost = 0, torn = 0, kept = 0;
            foreach (var (path, changes) in _unsynced.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (changes.Count == 0 || !File.Exists(path))
                {
                    continue;
                }
                var keep = mode == PowerLossMode.TearUnsynced ? random.Next(changes.Count + 1) : 0;
                using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                for (var i = changes.Count - 1; i >= keep; i--)
                {
                    var change = changes[i];
                    var tearAt = i == keep && mode == PowerLossMode.TearUnsynced && !change.IsTruncate && change.Length > 1
                        ? random.Next(change.Length)
                        : 0;
                    Undo(stream, change, tearAt);
                    lost++;
                    torn += tearAt > 0 ? 1 : 0;
                }
                kept += keep;
                stream.Flush(flushToDisk: true);
            }
            _unsynced.Clear();
            lost += _copyFiles.Restore(mode, random);
            foreach (var shm in Directory.EnumerateFiles(_directory, "*-shm"))
            {
                File.Delete(shm);
            }
            ChangesLost += lost;
            WritesTorn += torn;
            ChangesKept += kept;
            _cut = false;
            _operationsBeforeCut = -1;
            return $"power cut ({mode}): {lost} unsynced change(s) undone ({torn} torn), {kept} kept";
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        PowerLossVfs.Detach(_directory);
        Memo.Node.Storage.SystemCopyFileDisk.RemoveOverride(_directory);
    }

    /// <summary>Called under <see cref="Gate"/> after an fsync of a copy file or folder.</summary>
    internal void SyncedCopyFile() => Syncs++;

    internal void Opened(ControlledFile file)
    {
        lock (Gate)
        {
            _openFiles++;
        }
    }

    internal void Closed(ControlledFile file)
    {
        lock (Gate)
        {
            _openFiles--;
        }
    }

    /// <summary>Called under <see cref="Gate"/> after a write or truncate reached the file.</summary>
    internal void Wrote(string path, UnsyncedChange change)
    {
        if (!_unsynced.TryGetValue(path, out var changes))
        {
            _unsynced[path] = changes = [];
        }
        changes.Add(change);
    }

    /// <summary>Called under <see cref="Gate"/> after an fsync of <paramref name="path"/> succeeded.</summary>
    internal void Synced(string path)
    {
        Syncs++;
        if (_unsynced.TryGetValue(path, out var changes))
        {
            changes.Clear();
        }
    }

    /// <summary>False when the power is cut (the delete fails); otherwise forgets the file's unsynced changes.</summary>
    internal bool Deleting(string path)
    {
        lock (Gate)
        {
            if (_cut)
            {
                return false;
            }
            _unsynced.Remove(path);
            return true;
        }
    }

    /// <summary>
    /// Undoes one change on a file that is exactly in the state right after it; a write torn at
    /// <paramref name="tearAt"/> &gt; 0 keeps its first tearAt bytes.
    /// </summary>
    private static void Undo(FileStream stream, UnsyncedChange change, int tearAt)
    {
        if (change.IsTruncate)
        {
            stream.SetLength(change.SizeBefore);
            stream.Position = change.Offset;
            stream.Write(change.OldBytes);
            return;
        }
        if (tearAt < change.OldBytes.Length)
        {
            stream.Position = change.Offset + tearAt;
            stream.Write(change.OldBytes, tearAt, change.OldBytes.Length - tearAt);
        }
        stream.SetLength(tearAt == 0 ? change.SizeBefore : Math.Max(change.SizeBefore, change.Offset + tearAt));
    }
}
