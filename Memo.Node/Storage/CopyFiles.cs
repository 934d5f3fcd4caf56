// Design note: CopyFiles, the block copies a SqliteSilo keeps outside its database.
//
// Why. A block copy above SqliteSiloOptions.CopyFileThreshold (64 KiB by default) is written to a file of its own
// instead of into its block_copies row: SQLite writes a row's bytes twice (the WAL, then the checkpoint into the
// B-tree) from its single writer thread, while files are written once, off that thread and in parallel
// (docs/performance.md, "Large values": 100-130 MB/s in the silo against 460-580 MB/s as fsynced files).
//
// Layout. <data>/<database file name>-blocks/<first address byte in hex>/<address in hex>.<file id>, each file holding
// exactly the bytes the row would have held (a SealedSilo's sealed frame when policies seal records). File ids come
// from one counter per silo that starts above every id on disk, so a second write of the same address, a replacement
// with other bytes, or two batches racing on one address each write their own file and never touch a file a row
// names. (Only a row whose file was lost may name an id the counter hands out again; the writer then keeps the new
// file, see SqliteWriteCommands.PutCopy.)
//
// Durability order. The file is written, fsynced, and its folder fsynced before the transaction that inserts the row
// naming it is queued: a committed row always names a durable file. A row removed or replaced by a committed
// transaction leaves its old file behind, unlinked once the commit is known. Every crash window therefore leaves
// at worst a file that no row names (written but never committed, or committed away but not yet unlinked), which
// the sweep at open removes.
//
// Spares. Creating a file costs ext4 a search for a free inode (past the recently deleted ones) and its blocks, and
// unlinking one frees them again: a third of the copy file threads' CPU at 1 MiB puts (docs/performance.md, "1 MiB on
// three nodes"). So a file whose row was committed away is not always unlinked: the silo keeps a few as spares, and
// the next copy is written through one of them (renamed to the new copy's name, overwritten, cut to length, fsynced,
// its folder fsynced), which is to the durability order exactly an unlink and a create: no committed row names the
// spare, the new name is durable before a row names it, and a crash in between leaves a file no row names (under
// either name, with old, new or torn bytes), which the sweep removes. A reader that met the spare's old row before it
// was committed away may still hold the file open: a read counts only if the file's name is still there after it
// (the rename precedes the overwrite), else it is a missing file, after which the reader reads the row again.
//
// A row whose file is missing or has another length is damage the silo did not make: it is reported as
// SiloCorruptException on the read that meets it (and at open with CheckIntegrityOnOpen).

using Memo.Protocol.Blocks;

namespace Memo.Node.Storage;

/// <summary>The folder of a <see cref="SqliteSilo"/>'s block copy files: naming, durable writes, reads, removal and the sweep.</summary>
internal sealed class CopyFiles
{
    private const string FileSuffixSeparator = ".";
    private readonly ICopyFileDisk _disk;
    private readonly bool _flush;
    private readonly Lock _folderGate = new();
    // Which first-byte subfolders are known to exist durably; set under _folderGate, read without it.
    private readonly bool[] _durableSubfolders = new bool[256];
    private long _lastId;

    private CopyFiles(string folder, ICopyFileDisk disk, bool flush)
    {
        Folder = folder;
        _disk = disk;
        _flush = flush;
    }

    /// <summary>The folder holding every copy file of the silo.</summary>
    public string Folder { get; }

    /// <summary>
    /// Opens (creating durably when missing) the copy folder of the database <paramref name="databasePath"/>. With
    /// <paramref name="flush"/> false (a planted test bug) nothing is fsynced.
    /// </summary>
    public static CopyFiles Open(string databasePath, ICopyFileDisk disk, bool flush)
    {
        var parent = Path.GetDirectoryName(databasePath)!;
        var files = new CopyFiles(databasePath + "-blocks", disk, flush);
        disk.CreateFolder(files.Folder);
        // Whether it was just created or created before a crash, its name is durable once the parent is flushed.
        files.FlushFolder(parent);
        foreach (var sub in Directory.EnumerateDirectories(files.Folder))
        {
            if (TryParseSubfolder(Path.GetFileName(sub), out var index))
            {
                files._durableSubfolders[index] = true;
            }
        }
        files.FlushFolder(files.Folder);
        return files;
    }

    /// <summary>A new file id, above every id on disk when the silo opened and every id handed out since.</summary>
    public long NextId() => Interlocked.Increment(ref _lastId);

    /// <summary>The path of the copy file <paramref name="id"/> of <paramref name="address"/>.</summary>
    public string PathOf(BlockAddress address, long id)
    {
        var hex = Convert.ToHexStringLower(address.ToArray());
        return Path.Combine(Folder, hex[..2], hex + FileSuffixSeparator + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Writes <paramref name="data"/> as the new file <paramref name="id"/> of <paramref name="address"/> and makes it
    /// durable (the file, then its folder). On failure nothing is left behind that could be mistaken for a copy.
    /// </summary>
    public void Write(BlockAddress address, long id, byte[] data) => Write(address, id, data, spare: null);

    /// <summary>
    /// <see cref="Write(BlockAddress, long, byte[])"/> through the inode of <paramref name="spare"/>, a copy file that no
    /// committed row names any more (renamed to the new name, then overwritten: see the design note); a new file when
    /// the spare is null or gone. On failure neither the new name nor the spare is left behind. Returns whether the
    /// spare was used.
    /// </summary>
    public bool Write(BlockAddress address, long id, byte[] data, (BlockAddress Address, long Id)? spare)
    {
        var path = PathOf(address, id);
        var subfolder = EnsureSubfolder(address);
        var reused = false;
        try
        {
            if (spare is { } old)
            {
                try
                {
                    _disk.ReuseFile(PathOf(old.Address, old.Id), path, data, _flush);
                    reused = true;
                }
                catch (FileNotFoundException)
                {
                    // Nothing changed: the spare went some other way (a test, an operator). A new file instead.
                }
            }
            if (!reused)
            {
                _disk.WriteNewFile(path, data, _flush);
            }
            FlushFolder(subfolder);
        }
        catch
        {
            TryDelete(path);
            if (spare is { } old)
            {
                TryDelete(PathOf(old.Address, old.Id));
            }
            throw;
        }
        return reused;
    }

    /// <summary>
    /// The bytes of copy file <paramref name="id"/> of <paramref name="address"/>, or null when the file does not exist.
    /// </summary>
    /// <exception cref="SiloCorruptException">The file does not hold <paramref name="length"/> bytes.</exception>
    public byte[]? Read(BlockAddress address, long id, long length)
    {
        using var handle = OpenChecked(address, id, length, out var path);
        return handle is null ? null : StillNamed(path, () => ReadWhole(handle, address, length, path));
    }

    /// <summary>
    /// The bytes of copy file <paramref name="id"/> of <paramref name="address"/> less the block's payload field
    /// (<see cref="BlockHead"/>: only the fields' headers and the other fields are read), or the whole bytes when they are
    /// not a well-formed encoding; null when the file does not exist.
    /// </summary>
    /// <exception cref="SiloCorruptException">The file does not hold <paramref name="length"/> bytes.</exception>
    public byte[]? ReadHead(BlockAddress address, long id, long length)
    {
        using var handle = OpenChecked(address, id, length, out var path);
        if (handle is null)
        {
            return null;
        }
        return StillNamed(path, () => BlockHead.Read(length, (offset, into) => RandomAccess.Read(handle, into, offset))
            ?? ReadWhole(handle, address, length, path));
    }

    // What `read` read through a handle opened on `path`, if `path` still names that file once it is done; else null,
    // as for a file that was already gone. A file no row names any more may be reused as a spare (renamed, then
    // overwritten with another copy) while a reader that met its row before the commit still holds it open: the rename
    // comes before the first overwritten byte, so a name still there after the read means the bytes were the old
    // copy's, and a name gone means they may not be (a short read then is no damage either). File ids are never handed
    // out twice, so the name cannot have come back.
    private static byte[]? StillNamed(string path, Func<byte[]?> read)
    {
        byte[]? data;
        try
        {
            data = read();
        }
        catch (SiloCorruptException) when (!File.Exists(path))
        {
            return null;
        }
        return File.Exists(path) ? data : null;
    }

    // The open file, checked to hold `length` bytes; null when it does not exist.
    private Microsoft.Win32.SafeHandles.SafeFileHandle? OpenChecked(BlockAddress address, long id, long length, out string path)
    {
        path = PathOf(address, id);
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            // FileShare.Delete: an unlink after a concurrent commit must not fail because this read holds the file.
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        var actual = RandomAccess.GetLength(handle);
        if (actual != length)
        {
            handle.Dispose();
            if (!File.Exists(path))
            {
                return null; // reused as a spare since the open (StillNamed)
            }
            throw new SiloCorruptException(path, $"the copy file of block {address} holds {actual} bytes where its row says {length}");
        }
        return handle;
    }

    private static byte[] ReadWhole(Microsoft.Win32.SafeHandles.SafeFileHandle handle, BlockAddress address, long length, string path)
    {
        var data = GC.AllocateUninitializedArray<byte>(checked((int)length));
        var done = 0;
        while (done < data.Length)
        {
            var read = RandomAccess.Read(handle, data.AsSpan(done), done);
            if (read == 0)
            {
                throw new SiloCorruptException(path, $"the copy file of block {address} ended after {done} of {length} bytes");
            }
            done += read;
        }
        return data;
    }

    /// <summary>Unlinks a copy file; false (with the error) when that failed. A file left behind goes at the next sweep.</summary>
    public bool TryDelete(BlockAddress address, long id, out Exception? error) => TryDelete(PathOf(address, id), out error);

    /// <summary>
    /// Removes every copy file that <paramref name="namedId"/> (the file id the table names for an address, or null)
    /// does not name, and raises the id counter above every id seen on disk. (A row whose file is lost may name a
    /// higher id; a later file of that address may then get the same id, which the writer allows for: see
    /// SqliteWriteCommands.PutCopy.)
    /// </summary>
    public SweepOutcome Sweep(Func<BlockAddress, long?> namedId)
    {
        long kept = 0, removed = 0, foreign = 0;
        long highest = 0;
        foreach (var sub in Directory.EnumerateDirectories(Folder))
        {
            foreach (var path in Directory.EnumerateFiles(sub))
            {
                if (!TryParseFileName(Path.GetFileName(path), out var address, out var id)
                    || !string.Equals(Path.GetFileName(sub), Convert.ToHexStringLower(address.ToArray())[..2], StringComparison.Ordinal))
                {
                    foreign++;
                    continue;
                }
                highest = Math.Max(highest, id);
                if (namedId(address) == id)
                {
                    kept++;
                    continue;
                }
                if (TryDelete(path, out _))
                {
                    removed++;
                }
                else
                {
                    // Left for the next open: an orphan is harmless, and one file that cannot go must not stop the silo.
                    foreign++;
                }
            }
        }
        if (removed > 0)
        {
            // Not needed for correctness (an orphan that comes back is swept again), but it keeps the count honest.
            foreach (var sub in Directory.EnumerateDirectories(Folder))
            {
                FlushFolder(sub);
            }
        }
        Volatile.Write(ref _lastId, highest);
        return new SweepOutcome(kept, removed, foreign);
    }

    /// <summary>Parses <c>&lt;64 hex digits&gt;.&lt;id&gt;</c>.</summary>
    internal static bool TryParseFileName(string name, out BlockAddress address, out long id)
    {
        address = default;
        id = 0;
        var dot = name.IndexOf(FileSuffixSeparator, StringComparison.Ordinal);
        if (dot != BlockAddress.Length * 2
            || !long.TryParse(name.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out id)
            || id <= 0)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[BlockAddress.Length];
        if (Convert.FromHexString(name.AsSpan(0, dot), bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != bytes.Length)
        {
            return false;
        }
        address = BlockAddress.FromBytes(bytes);
        return true;
    }

    private static bool TryParseSubfolder(string name, out int index) =>
        int.TryParse(name, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out index)
        && name.Length == 2 && index is >= 0 and < 256;

    // The subfolder of the address's first byte, created and made durable (its name flushed into the copy folder)
    // before any file in it is written: a committed row must never name a file whose folder a power cut could lose.
    private string EnsureSubfolder(BlockAddress address)
    {
        Span<byte> bytes = stackalloc byte[BlockAddress.Length];
        address.WriteTo(bytes);
        var path = Path.Combine(Folder, Convert.ToHexStringLower(bytes[..1]));
        if (Volatile.Read(ref _durableSubfolders[bytes[0]]))
        {
            return path;
        }
        lock (_folderGate)
        {
            if (!_durableSubfolders[bytes[0]])
            {
                _disk.CreateFolder(path);
                FlushFolder(Folder);
                Volatile.Write(ref _durableSubfolders[bytes[0]], true);
            }
        }
        return path;
    }

    private void FlushFolder(string path)
    {
        if (_flush)
        {
            _disk.FlushFolder(path);
        }
    }

    private bool TryDelete(string path, out Exception? error)
    {
        try
        {
            _disk.DeleteFile(path);
            error = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e;
            return false;
        }
    }

    private void TryDelete(string path) => TryDelete(path, out _);

    /// <summary>What a sweep found: files rows name, files removed, and files left alone (names that are not copy files', or orphans that could not be removed).</summary>
    public readonly record struct SweepOutcome(long Kept, long Removed, long Foreign);
}
