// Design note: PowerLossVfs, a SQLite VFS shim that models a disk losing power.
//
// Why a VFS. SIGKILL keeps the OS page cache, so a killed process never loses a write it made, fsynced or not: a
// silo that acknowledges before fsync passes every kill test. Power loss is the fault that tells them apart, and
// only the layer SQLite does its I/O through sees which writes were fsynced. This shim is registered as SQLite's
// default VFS and wraps the real one ("unix"). Files outside a directory attached to a PowerLossDisk pass straight
// through: the real VFS opens them into SQLite's own file structure and the shim never sees them again, so other
// tests in the process are untouched. Files inside an attached directory (the database, its -wal and -journal)
// are wrapped: every xWrite and xTruncate first reads the bytes it is about to replace and records them in the
// file's undo log; xSync (on any handle of the path) empties that path's log, because what it covered is now on
// the platter. The undo log is therefore exactly "what a power cut may take back".
//
// A power cut (PowerLossDisk.CutPower) makes every later write, truncate, sync and delete under the directory fail
// with SQLITE_IOERR and touch nothing, so nothing after the cut instant reaches the disk. Once the silo has
// closed its files, PowerLossDisk.RestoreAfterCut rewinds each file to its last synced image: in Drop mode every
// unsynced write is undone; in Tear mode a random prefix of the unsynced writes is kept (the disk happened to write
// them before the lights went out) and the next one is torn at a random byte. The -shm file (the WAL index, memory
// that is never synced) is deleted. SQLite must then recover from the -wal file's checksummed frames.
//
// Limits. Deletions are forwarded as durable (SQLite deletes the WAL only on a clean close, after syncing the
// database); directory entries are not modelled (a new file exists, perhaps empty, after a cut); memory-mapped I/O
// is disabled on wrapped files (io_methods version 2), as in the silo's default configuration.

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Memo.Testing.PowerLoss;

/// <summary>The SQLite VFS shim behind <see cref="PowerLossDisk"/>; registered once, as the default VFS.</summary>
internal static unsafe class PowerLossVfs
{
    private const int SqliteOk = 0;
    private const int SqliteIoErr = 10;
    private const int SqliteIoErrWrite = 10 | (3 << 8);
    private const int SqliteIoErrFsync = 10 | (4 << 8);
    private const int SqliteIoErrTruncate = 10 | (6 << 8);
    private const int SqliteIoErrDelete = 10 | (10 << 8);

    // The wrapped file: [our io_methods*][GCHandle of ControlledFile][the real VFS's file structure].
    private const int HeaderBytes = 16;

    private static readonly object _registration = new();
    private static readonly ConcurrentDictionary<string, PowerLossDisk> _disks = new(StringComparer.Ordinal);
    private static Sqlite3Vfs* _real;
    private static Sqlite3Vfs* _shim;
    private static Sqlite3IoMethods* _methods;

    /// <summary>Registers the shim as SQLite's default VFS (once per process).</summary>
    public static void EnsureRegistered()
    {
        lock (_registration)
        {
            if (_shim is not null)
            {
                return;
            }
            Memo.Node.Storage.SqliteSilo.EnsureSqliteInitialized();
            var real = sqlite3_vfs_find(null);
            if (real is null)
            {
                throw new InvalidOperationException("SQLite has no default VFS to wrap.");
            }
            var shim = (Sqlite3Vfs*)NativeMemory.AllocZeroed((nuint)sizeof(Sqlite3Vfs));
            *shim = *real;
            shim->pNext = null;
            shim->szOsFile = real->szOsFile + HeaderBytes;
            var name = "memo-power-loss\0"u8;
            var nameCopy = (byte*)NativeMemory.Alloc((nuint)name.Length);
            name.CopyTo(new Span<byte>(nameCopy, name.Length));
            shim->zName = nameCopy;
            shim->xOpen = (nint)(delegate* unmanaged[Cdecl]<Sqlite3Vfs*, byte*, byte*, int, int*, int>)&Open;
            shim->xDelete = (nint)(delegate* unmanaged[Cdecl]<Sqlite3Vfs*, byte*, int, int>)&Delete;

            var methods = (Sqlite3IoMethods*)NativeMemory.AllocZeroed((nuint)sizeof(Sqlite3IoMethods));
            // Version 2: the shared-memory methods (WAL needs them), no xFetch/xUnfetch, so no memory-mapped reads.
            methods->iVersion = 2;
            methods->xClose = (nint)(delegate* unmanaged[Cdecl]<byte*, int>)&Close;
            methods->xRead = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, int, long, int>)&Read;
            methods->xWrite = (nint)(delegate* unmanaged[Cdecl]<byte*, byte*, int, long, int>)&Write;
            methods->xTruncate = (nint)(delegate* unmanaged[Cdecl]<byte*, long, int>)&Truncate;
            methods->xSync = (nint)(delegate* unmanaged[Cdecl]<byte*, int, int>)&Sync;
            methods->xFileSize = (nint)(delegate* unmanaged[Cdecl]<byte*, long*, int>)&FileSize;
            methods->xLock = (nint)(delegate* unmanaged[Cdecl]<byte*, int, int>)&Lock;
            methods->xUnlock = (nint)(delegate* unmanaged[Cdecl]<byte*, int, int>)&Unlock;
            methods->xCheckReservedLock = (nint)(delegate* unmanaged[Cdecl]<byte*, int*, int>)&CheckReservedLock;
            methods->xFileControl = (nint)(delegate* unmanaged[Cdecl]<byte*, int, void*, int>)&FileControl;
            methods->xSectorSize = (nint)(delegate* unmanaged[Cdecl]<byte*, int>)&SectorSize;
            methods->xDeviceCharacteristics = (nint)(delegate* unmanaged[Cdecl]<byte*, int>)&DeviceCharacteristics;
            methods->xShmMap = (nint)(delegate* unmanaged[Cdecl]<byte*, int, int, int, void**, int>)&ShmMap;
            methods->xShmLock = (nint)(delegate* unmanaged[Cdecl]<byte*, int, int, int, int>)&ShmLock;
            methods->xShmBarrier = (nint)(delegate* unmanaged[Cdecl]<byte*, void>)&ShmBarrier;
            methods->xShmUnmap = (nint)(delegate* unmanaged[Cdecl]<byte*, int, int>)&ShmUnmap;

            _real = real;
            _methods = methods;
            var rc = sqlite3_vfs_register(shim, 1);
            if (rc != SqliteOk)
            {
                throw new InvalidOperationException($"sqlite3_vfs_register failed with {rc}.");
            }
            _shim = shim;
        }
    }

    /// <summary>Routes files under <paramref name="directory"/> to <paramref name="disk"/> from the next open on.</summary>
    public static void Attach(string directory, PowerLossDisk disk)
    {
        EnsureRegistered();
        if (!_disks.TryAdd(directory, disk))
        {
            throw new InvalidOperationException($"'{directory}' already has a power-loss disk attached.");
        }
    }

    /// <summary>Stops routing files under <paramref name="directory"/> (files already open stay wrapped until closed).</summary>
    public static void Detach(string directory) => _disks.TryRemove(directory, out _);

    private static PowerLossDisk? DiskFor(byte* zName)
    {
        if (zName is null || _disks.IsEmpty)
        {
            return null;
        }
        var path = Marshal.PtrToStringUTF8((nint)zName);
        if (path is null)
        {
            return null;
        }
        foreach (var (directory, disk) in _disks)
        {
            if (path.StartsWith(directory, StringComparison.Ordinal))
            {
                return disk;
            }
        }
        return null;
    }

    private static ControlledFile File(byte* file) => (ControlledFile)GCHandle.FromIntPtr(*(nint*)(file + sizeof(nint))).Target!;

    private static byte* Inner(byte* file) => file + HeaderBytes;

    private static Sqlite3IoMethods* InnerMethods(byte* file) => *(Sqlite3IoMethods**)Inner(file);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Open(Sqlite3Vfs* vfs, byte* zName, byte* file, int flags, int* outFlags)
    {
        try
        {
            var realOpen = (delegate* unmanaged[Cdecl]<Sqlite3Vfs*, byte*, byte*, int, int*, int>)_real->xOpen;
            var disk = DiskFor(zName);
            if (disk is null)
            {
                // Not ours: the real VFS fills SQLite's structure with its own methods; the shim is out of the way.
                return realOpen(_real, zName, file, flags, outFlags);
            }
            *(nint*)file = 0;
            var rc = realOpen(_real, zName, Inner(file), flags, outFlags);
            if (rc != SqliteOk)
            {
                if (InnerMethods(file) is not null)
                {
                    ((delegate* unmanaged[Cdecl]<byte*, int>)InnerMethods(file)->xClose)(Inner(file));
                }
                return rc;
            }
            var controlled = new ControlledFile(disk, Marshal.PtrToStringUTF8((nint)zName)!);
            disk.Opened(controlled);
            *(nint*)(file + sizeof(nint)) = GCHandle.ToIntPtr(GCHandle.Alloc(controlled));
            *(Sqlite3IoMethods**)file = _methods;
            return SqliteOk;
        }
        catch
        {
            return SqliteIoErr;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Delete(Sqlite3Vfs* vfs, byte* zName, int syncDirectory)
    {
        try
        {
            var disk = DiskFor(zName);
            if (disk is not null && !disk.Deleting(Marshal.PtrToStringUTF8((nint)zName)!))
            {
                return SqliteIoErrDelete;
            }
            return ((delegate* unmanaged[Cdecl]<Sqlite3Vfs*, byte*, int, int>)_real->xDelete)(_real, zName, syncDirectory);
        }
        catch
        {
            return SqliteIoErrDelete;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Close(byte* file)
    {
        try
        {
            var handleSlot = (nint*)(file + sizeof(nint));
            var handle = GCHandle.FromIntPtr(*handleSlot);
            var controlled = (ControlledFile)handle.Target!;
            var rc = ((delegate* unmanaged[Cdecl]<byte*, int>)InnerMethods(file)->xClose)(Inner(file));
            handle.Free();
            *handleSlot = 0;
            controlled.Disk.Closed(controlled);
            return rc;
        }
        catch
        {
            return SqliteIoErr;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Read(byte* file, byte* buffer, int amount, long offset) =>
        RealRead(file, buffer, amount, offset);

    private static int RealRead(byte* file, byte* buffer, int amount, long offset) =>
        ((delegate* unmanaged[Cdecl]<byte*, byte*, int, long, int>)InnerMethods(file)->xRead)(Inner(file), buffer, amount, offset);

    private static int RealFileSize(byte* file, long* size) =>
        ((delegate* unmanaged[Cdecl]<byte*, long*, int>)InnerMethods(file)->xFileSize)(Inner(file), size);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Write(byte* file, byte* buffer, int amount, long offset)
    {
        try
        {
            var controlled = File(file);
            lock (controlled.Disk.Gate)
            {
                if (controlled.Disk.IsCutBeforeOperation())
                {
                    return SqliteIoErrWrite;
                }
                long size;
                var rc = RealFileSize(file, &size);
                if (rc != SqliteOk)
                {
                    return rc;
                }
                var covered = (int)Math.Clamp(size - offset, 0, amount);
                var old = new byte[covered];
                if (covered > 0)
                {
                    fixed (byte* o = old)
                    {
                        rc = RealRead(file, o, covered, offset);
                    }
                    if (rc != SqliteOk)
                    {
                        return rc;
                    }
                }
                rc = ((delegate* unmanaged[Cdecl]<byte*, byte*, int, long, int>)InnerMethods(file)->xWrite)(Inner(file), buffer, amount, offset);
                if (rc == SqliteOk)
                {
                    controlled.Disk.Wrote(controlled.Path, new UnsyncedChange(offset, amount, size, old, IsTruncate: false));
                }
                return rc;
            }
        }
        catch
        {
            return SqliteIoErrWrite;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Truncate(byte* file, long newSize)
    {
        try
        {
            var controlled = File(file);
            lock (controlled.Disk.Gate)
            {
                if (controlled.Disk.IsCutBeforeOperation())
                {
                    return SqliteIoErrTruncate;
                }
                long size;
                var rc = RealFileSize(file, &size);
                if (rc != SqliteOk)
                {
                    return rc;
                }
                var old = new byte[Math.Max(0, size - newSize)];
                if (old.Length > 0)
                {
                    fixed (byte* o = old)
                    {
                        rc = RealRead(file, o, old.Length, newSize);
                    }
                    if (rc != SqliteOk)
                    {
                        return rc;
                    }
                }
                rc = ((delegate* unmanaged[Cdecl]<byte*, long, int>)InnerMethods(file)->xTruncate)(Inner(file), newSize);
                if (rc == SqliteOk)
                {
                    controlled.Disk.Wrote(controlled.Path, new UnsyncedChange(newSize, old.Length, size, old, IsTruncate: true));
                }
                return rc;
            }
        }
        catch
        {
            return SqliteIoErrTruncate;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Sync(byte* file, int flags)
    {
        try
        {
            var controlled = File(file);
            // The gate is held across the real fsync: a cut either happens before it (the sync fails) or after it
            // (what it covered is durable), never in the middle of deciding which.
            lock (controlled.Disk.Gate)
            {
                if (controlled.Disk.IsCutBeforeOperation())
                {
                    return SqliteIoErrFsync;
                }
                var rc = ((delegate* unmanaged[Cdecl]<byte*, int, int>)InnerMethods(file)->xSync)(Inner(file), flags);
                if (rc == SqliteOk)
                {
                    controlled.Disk.Synced(controlled.Path);
                }
                return rc;
            }
        }
        catch
        {
            return SqliteIoErrFsync;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int FileSize(byte* file, long* size) => RealFileSize(file, size);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Lock(byte* file, int level) =>
        ((delegate* unmanaged[Cdecl]<byte*, int, int>)InnerMethods(file)->xLock)(Inner(file), level);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Unlock(byte* file, int level) =>
        ((delegate* unmanaged[Cdecl]<byte*, int, int>)InnerMethods(file)->xUnlock)(Inner(file), level);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int CheckReservedLock(byte* file, int* result) =>
        ((delegate* unmanaged[Cdecl]<byte*, int*, int>)InnerMethods(file)->xCheckReservedLock)(Inner(file), result);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int FileControl(byte* file, int operation, void* argument) =>
        ((delegate* unmanaged[Cdecl]<byte*, int, void*, int>)InnerMethods(file)->xFileControl)(Inner(file), operation, argument);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SectorSize(byte* file) =>
        ((delegate* unmanaged[Cdecl]<byte*, int>)InnerMethods(file)->xSectorSize)(Inner(file));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int DeviceCharacteristics(byte* file) =>
        ((delegate* unmanaged[Cdecl]<byte*, int>)InnerMethods(file)->xDeviceCharacteristics)(Inner(file));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmMap(byte* file, int page, int pageSize, int extend, void** mapped) =>
        ((delegate* unmanaged[Cdecl]<byte*, int, int, int, void**, int>)InnerMethods(file)->xShmMap)(Inner(file), page, pageSize, extend, mapped);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmLock(byte* file, int offset, int count, int flags) =>
        ((delegate* unmanaged[Cdecl]<byte*, int, int, int, int>)InnerMethods(file)->xShmLock)(Inner(file), offset, count, flags);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void ShmBarrier(byte* file) =>
        ((delegate* unmanaged[Cdecl]<byte*, void>)InnerMethods(file)->xShmBarrier)(Inner(file));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int ShmUnmap(byte* file, int deleteFlag) =>
        ((delegate* unmanaged[Cdecl]<byte*, int, int>)InnerMethods(file)->xShmUnmap)(Inner(file), deleteFlag);

    [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern Sqlite3Vfs* sqlite3_vfs_find(byte* name);

    [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    private static extern int sqlite3_vfs_register(Sqlite3Vfs* vfs, int makeDefault);

    /// <summary>SQLite's <c>sqlite3_vfs</c> (version 3), field for field.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Sqlite3Vfs
    {
        public int iVersion;
        public int szOsFile;
        public int mxPathname;
        public Sqlite3Vfs* pNext;
        public byte* zName;
        public nint pAppData;
        public nint xOpen;
        public nint xDelete;
        public nint xAccess;
        public nint xFullPathname;
        public nint xDlOpen;
        public nint xDlError;
        public nint xDlSym;
        public nint xDlClose;
        public nint xRandomness;
        public nint xSleep;
        public nint xCurrentTime;
        public nint xGetLastError;
        public nint xCurrentTimeInt64;
        public nint xSetSystemCall;
        public nint xGetSystemCall;
        public nint xNextSystemCall;
    }

    /// <summary>SQLite's <c>sqlite3_io_methods</c> (version 3), field for field.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Sqlite3IoMethods
    {
        public int iVersion;
        public nint xClose;
        public nint xRead;
        public nint xWrite;
        public nint xTruncate;
        public nint xSync;
        public nint xFileSize;
        public nint xLock;
        public nint xUnlock;
        public nint xCheckReservedLock;
        public nint xFileControl;
        public nint xSectorSize;
        public nint xDeviceCharacteristics;
        public nint xShmMap;
        public nint xShmLock;
        public nint xShmBarrier;
        public nint xShmUnmap;
        public nint xFetch;
        public nint xUnfetch;
    }
}

/// <summary>One wrapped SQLite file handle: the disk it lives on and its path.</summary>
internal sealed class ControlledFile(PowerLossDisk disk, string path)
{
    public PowerLossDisk Disk { get; } = disk;

    public string Path { get; } = path;
}

/// <summary>
/// A change not yet synced: the bytes a write replaced (<see cref="OldBytes"/>, only those that existed; the file
/// was <see cref="SizeBefore"/> long), or for a truncate to <see cref="Offset"/> the bytes it cut off.
/// </summary>
internal sealed record UnsyncedChange(long Offset, int Length, long SizeBefore, byte[] OldBytes, bool IsTruncate);
