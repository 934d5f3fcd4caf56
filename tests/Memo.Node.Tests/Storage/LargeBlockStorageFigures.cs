using System.Diagnostics;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Storage;

/// <summary>
/// The measurement behind copy files (docs/performance.md, "Large values"): 200 blocks of 1 MiB committed by 8 writers
/// as silo block copies inside SQLite rows (<see cref="SqliteSiloOptions.CopyFileThreshold"/> off), as silo copies in
/// copy files (the default threshold), and written as bare files (write, fsync the file, fsync the folder: the floor a
/// file per block can reach). Figures only; the assertions check that every block reads back.
/// </summary>
public sealed class LargeBlockStorageFigures(ITestOutputHelper output)
{
    // .NET cannot open a folder as a stream; a folder's fsync goes through libc.
#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this test project does not allow
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open")]
    private static extern int Open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fsync")]
    private static extern int Fsync(int descriptor);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int descriptor);
#pragma warning restore SYSLIB1054

    private static void FsyncFolder(string path)
    {
        var descriptor = Open(path, 0);
        Assert.True(descriptor >= 0, $"open({path}) failed");
        try
        {
            Assert.Equal(0, Fsync(descriptor));
        }
        finally
        {
            Close(descriptor);
        }
    }

    private const int Blocks = 200;
    private const int BlockBytes = 1 << 20;
    private const int Writers = 8;

    [Fact]
    public async Task One_MiB_blocks_in_silo_rows_in_copy_files_and_as_bare_files_are_timed()
    {
        var data = Enumerable.Range(0, Blocks).Select(i =>
        {
            var bytes = new byte[BlockBytes];
            new Random(i).NextBytes(bytes);
            return bytes;
        }).ToArray();
        var addresses = data.Select((d, i) => BlockAddress.FromDigest(System.Security.Cryptography.SHA256.HashData(d), immutable: true)).ToArray();

        await MeasureSiloAsync("silo copies in rows", copyFileThreshold: null, data, addresses);
        await MeasureSiloAsync("silo copies in copy files", new SqliteSiloOptions { DataDirectory = "." }.CopyFileThreshold, data, addresses);

        using var fileFolder = new TempDirectory();
        // The floor: bare files, no database row.
        var filesStarted = Stopwatch.GetTimestamp();
        await Parallel.ForAsync(0, Blocks, new ParallelOptions { MaxDegreeOfParallelism = Writers }, async (i, ct) =>
        {
            var path = Path.Combine(fileFolder.Path, addresses[i].ToString());
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                await file.WriteAsync(data[i], ct);
                file.Flush(flushToDisk: true);
            }
            // The new name is durable only once its folder is.
            FsyncFolder(fileFolder.Path);
        });
        var filesElapsed = Stopwatch.GetElapsedTime(filesStarted);
        output.WriteLine($"files: {Blocks} x 1 MiB by {Writers} writers in {filesElapsed.TotalMilliseconds:F0} ms = {Blocks / filesElapsed.TotalSeconds:F1} MB/s");
        for (var i = 0; i < Blocks; i++)
        {
            Assert.Equal(data[i], await File.ReadAllBytesAsync(Path.Combine(fileFolder.Path, addresses[i].ToString())));
        }
    }

    private async Task MeasureSiloAsync(string label, int? copyFileThreshold, byte[][] data, BlockAddress[] addresses)
    {
        using var siloFolder = new TempDirectory();
        await using (var silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = siloFolder.Path, CopyFileThreshold = copyFileThreshold }))
        {
            var started = Stopwatch.GetTimestamp();
            await Parallel.ForAsync(0, Blocks, new ParallelOptions { MaxDegreeOfParallelism = Writers }, async (i, ct) =>
                await silo.CommitAsync(new SiloBatch().PutBlockCopy(new ShardId(i % 4), addresses[i], data[i]), ct));
            var elapsed = Stopwatch.GetElapsedTime(started);
            output.WriteLine($"{label}: {Blocks} x 1 MiB by {Writers} writers in {elapsed.TotalMilliseconds:F0} ms = {Blocks / elapsed.TotalSeconds:F1} MB/s");
            started = Stopwatch.GetTimestamp();
            for (var i = 0; i < Blocks; i++)
            {
                Assert.Equal(data[i], await silo.ReadBlockAsync(addresses[i]));
            }
            output.WriteLine($"{label}, reads: {Blocks} x 1 MiB in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms");
        }
        var bytes = Directory.GetFiles(siloFolder.Path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        output.WriteLine($"{label}, data folder after closing: {bytes / 1048576.0:F1} MB");
    }
}
