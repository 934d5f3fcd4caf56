using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Memo.Node.Storage;

/// <summary>The real disk: <see cref="FileStream"/> for files, libc <c>fsync</c> for folders.</summary>
internal sealed class SystemCopyFileDisk : ICopyFileDisk
{
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The process-wide instance.</summary>
    public static SystemCopyFileDisk Instance { get; } = new();

    // Test seam: disks that stand in for this one under a folder (a power-loss disk), keyed by the folder's full path
    // ending in a separator. Registered the way the power-loss SQLite VFS registers its folders.
    private static readonly ConcurrentDictionary<string, ICopyFileDisk> _overrides = new(StringComparer.Ordinal);

    /// <summary>Test seam: makes <see cref="For"/> answer <paramref name="disk"/> for every folder under <paramref name="folder"/>.</summary>
    internal static void Override(string folder, ICopyFileDisk disk) => _overrides[WithSeparator(folder)] = disk;

    /// <summary>Removes an <see cref="Override"/>.</summary>
    internal static void RemoveOverride(string folder) => _overrides.TryRemove(WithSeparator(folder), out _);

    /// <summary>The disk that serves <paramref name="folder"/>: this one unless a test stands another in.</summary>
    public static ICopyFileDisk For(string folder)
    {
        if (_overrides.IsEmpty)
        {
            return Instance;
        }
        var path = WithSeparator(folder);
        foreach (var (prefix, disk) in _overrides)
        {
            if (path.StartsWith(prefix, StringComparison.Ordinal))
            {
                return disk;
            }
        }
        return Instance;
    }

    /// <inheritdoc />
    public void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerOnlyFolder);
        }
    }

    /// <inheritdoc />
    public void WriteNewFile(string path, ReadOnlySpan<byte> data, bool flush)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
            PreallocationSize = data.Length,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerReadWrite;
        }
        using var file = new FileStream(path, options);
        file.Write(data);
        if (flush)
        {
            file.Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc />
    public void ReuseFile(string sparePath, string path, ReadOnlySpan<byte> data, bool flush)
    {
        // overwrite: true is rename(2) on Unix (without it .NET links and unlinks); the new name carries a fresh file id,
        // so nothing is there to overwrite.
        try
        {
            File.Move(sparePath, path, overwrite: true);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new FileNotFoundException($"The spare copy file '{sparePath}' is gone.", sparePath, e);
        }
        using var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
        });
        file.Write(data);
        if (file.Length != data.Length)
        {
            file.SetLength(data.Length);
        }
        if (flush)
        {
            file.Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc />
    public void FlushFolder(string path)
    {
        // Windows has no folder fsync (NTFS journals its metadata); elsewhere a new name is durable only once its
        // folder is, and .NET cannot open a folder as a stream.
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var descriptor = Native.Open(path, 0);
        if (descriptor < 0)
        {
            throw new IOException($"Could not open folder '{path}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }
        try
        {
            if (Native.Fsync(descriptor) != 0)
            {
                throw new IOException($"fsync of folder '{path}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            Native.Close(descriptor);
        }
    }

    /// <inheritdoc />
    public void DeleteFile(string path) => File.Delete(path);

    private static string WithSeparator(string folder) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar;

    private static class Native
    {
#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int descriptor);

        [DllImport("libc", EntryPoint = "close")]
        public static extern int Close(int descriptor);
#pragma warning restore SYSLIB1054
    }
}
