using System.Reflection;
using System.Runtime.InteropServices;

namespace Memo.Node.Storage;

/// <summary>
/// Chooses the native SQLite library. The bundled <c>e_sqlite3</c> of SQLitePCLRaw 2.0.6 (the version the
/// project's feed serves) is compiled without <c>HAVE_USLEEP</c>, so every time SQLite backs off on a lock
/// (a reader racing the writer's WAL header update, a busy retry) it sleeps a whole second: measured as
/// 1 s stalls in put latency at concurrency 64. The operating system's SQLite (Debian's libsqlite3, built
/// with usleep) has the same C API, so on Linux it is loaded in place of the bundled one when present.
/// <c>MEMO_SQLITE_LIBRARY=bundled</c> forces the bundled library; a missing system library falls back to it.
/// </summary>
internal static class SqliteNativeLibrary
{
    private static readonly string[] SystemCandidates = ["libsqlite3.so.0", "libsqlite3.so"];

    /// <summary>Which library was loaded: "system (path)" or "bundled".</summary>
    public static string Description { get; private set; } = "bundled";

    /// <summary>Installs the resolver; call once, before <c>SQLitePCL.Batteries_V2.Init()</c>.</summary>
    public static void PreferSystemLibrary()
    {
        if (!OperatingSystem.IsLinux()
            || string.Equals(Environment.GetEnvironmentVariable("MEMO_SQLITE_LIBRARY"), "bundled", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        var provider = typeof(SQLitePCL.SQLite3Provider_e_sqlite3).Assembly;
        NativeLibrary.SetDllImportResolver(provider, Resolve);
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != "e_sqlite3")
        {
            return IntPtr.Zero;
        }
        foreach (var candidate in SystemCandidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                Description = "system (" + candidate + ")";
                return handle;
            }
        }
        return IntPtr.Zero; // default probing: the bundled e_sqlite3
    }
}
