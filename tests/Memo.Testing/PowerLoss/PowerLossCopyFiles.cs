// Design note: PowerLossCopyFiles, the SqliteSilo's copy files on a disk that loses power.
//
// The silo writes the block copies above its threshold as files of their own (Memo.Node/Storage/CopyFiles.cs) through
// ICopyFileDisk, which this class implements for a PowerLossDisk's folder. It keeps what a power cut may take back: a
// file's bytes until the file is fsynced, and a file's or folder's name until its parent folder is fsynced (a new name
// lives in the folder's own blocks). Its writes, fsyncs, folder fsyncs, folder creations and deletes count as disk
// operations with SQLite's (PowerLossDisk.CutPowerBefore lands among them) and fail once the power is cut.
// A spare reused for a new copy (ICopyFileDisk.ReuseFile) is a rename and an overwrite: its new name and bytes are
// kept as a new file's are. RestoreAfterCut then rewinds: in Drop mode every name not flushed is gone and every unsynced file is empty; in Tear
// mode a name not flushed survives or not at random and unsynced bytes are cut at a random length. Deletes are
// modelled as durable, as the VFS shim does: a deleted file that came back would only be an orphan, which the silo's
// sweep at open removes.

using Memo.Node.Storage;

namespace Memo.Testing.PowerLoss;

/// <summary>The copy-file half of a <see cref="PowerLossDisk"/>.</summary>
internal sealed class PowerLossCopyFiles(PowerLossDisk disk) : ICopyFileDisk
{
    // Under disk.Gate: every file and folder created since the last restore with what of it is not durable yet.
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public void CreateFolder(string path)
    {
        lock (disk.Gate)
        {
            if (Directory.Exists(path))
            {
                return;
            }
            ThrowIfCut("create folder", path);
            Directory.CreateDirectory(path);
            _entries[Trim(path)] = new Entry(IsFolder: true) { DataDurable = true };
        }
    }

    public void WriteNewFile(string path, ReadOnlySpan<byte> data, bool flush)
    {
        lock (disk.Gate)
        {
            ThrowIfCut("write", path);
            using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(data);
            }
            _entries[path] = new Entry(IsFolder: false);
        }
        if (flush)
        {
            lock (disk.Gate)
            {
                ThrowIfCut("fsync", path);
                if (_entries.TryGetValue(path, out var entry))
                {
                    entry.DataDurable = true;
                }
                disk.SyncedCopyFile();
            }
        }
    }

    public void ReuseFile(string sparePath, string path, ReadOnlySpan<byte> data, bool flush)
    {
        lock (disk.Gate)
        {
            ThrowIfCut("rename", sparePath);
            File.Move(sparePath, path, overwrite: true);
            // The spare's old name is modelled gone for good (as a delete is); the new name, like a new file's, lasts only
            // once its folder is flushed, and the bytes written over the spare only once the file is: restored, an unsynced
            // reused file is emptied or torn like a new one (the spare's old bytes are no more the new block than no bytes).
            _entries.Remove(sparePath);
            _entries[path] = new Entry(IsFolder: false);
        }
        lock (disk.Gate)
        {
            ThrowIfCut("overwrite", path);
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None);
            file.Write(data);
            file.SetLength(data.Length);
        }
        if (flush)
        {
            lock (disk.Gate)
            {
                ThrowIfCut("fsync", path);
                if (_entries.TryGetValue(path, out var entry))
                {
                    entry.DataDurable = true;
                }
                disk.SyncedCopyFile();
            }
        }
    }

    public void FlushFolder(string path)
    {
        lock (disk.Gate)
        {
            ThrowIfCut("fsync folder", path);
            var folder = Trim(path);
            foreach (var (name, entry) in _entries)
            {
                if (string.Equals(Path.GetDirectoryName(name), folder, StringComparison.Ordinal))
                {
                    entry.NameDurable = true;
                }
            }
            disk.SyncedCopyFile();
        }
    }

    public void DeleteFile(string path)
    {
        lock (disk.Gate)
        {
            ThrowIfCut("delete", path);
            File.Delete(path);
            _entries.Remove(path);
        }
    }

    /// <summary>Under the disk's gate, after a cut: rewinds the copy files to what the disk keeps; returns the changes undone.</summary>
    public long Restore(PowerLossMode mode, Random random)
    {
        long undone = 0;
        // Deepest first, so a lost folder's files are counted before the folder goes.
        foreach (var (path, entry) in _entries.OrderByDescending(e => e.Key.Length).ThenBy(e => e.Key, StringComparer.Ordinal))
        {
            var nameKept = entry.NameDurable || (mode == PowerLossMode.TearUnsynced && random.Next(2) == 0);
            if (entry.IsFolder)
            {
                if (!nameKept && Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                    undone++;
                }
                continue;
            }
            if (!File.Exists(path))
            {
                continue;
            }
            if (!nameKept)
            {
                File.Delete(path);
                undone++;
            }
            else if (!entry.DataDurable)
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
                file.SetLength(mode == PowerLossMode.TearUnsynced ? random.NextInt64(file.Length + 1) : 0);
                undone++;
            }
        }
        _entries.Clear();
        return undone;
    }

    private void ThrowIfCut(string operation, string path)
    {
        if (disk.IsCutBeforeOperation())
        {
            throw new IOException($"Power cut: {operation} of '{path}' did not happen.");
        }
    }

    private static string Trim(string path) => Path.TrimEndingDirectorySeparator(path);

    private sealed record Entry(bool IsFolder)
    {
        public bool NameDurable { get; set; }

        public bool DataDurable { get; set; }
    }
}
