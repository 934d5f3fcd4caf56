using System.Diagnostics;
using Memo.Node.Hosting;
using Memo.Node.Storage;
using Memo.Node.Tests.Storage;
using Memo.Protocol.Blocks;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Hosting;

/// <summary>
/// The data folder on disk: owner-only modes for the folder, the database files and the node key; a key others can
/// read stops the node with the command that fixes it; optional passphrase encryption of the key. Unix only (the
/// modes are Unix permission bits).
/// </summary>
public sealed class DataFolderFileModeTests(ITestOutputHelper output) : IDisposable
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerReadWrite | UnixFileMode.UserExecute;

    private readonly TempDirectory _parent = new();

    public void Dispose() => _parent.Dispose();

    private string NewFolder() => Path.Combine(_parent.Path, Guid.NewGuid().ToString("n"), "data");

    [Fact]
    public async Task A_new_data_folder_is_0700_and_its_database_wal_shm_lock_key_and_copy_files_are_0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permission bits
        }
        var folderPath = NewFolder();
        using (var folder = DataFolder.Open(folderPath))
        {
            using var key = NodeIdentity.LoadOrCreate(folder, passphrase: null);
            await using var silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = folder.Path });
            await silo.CommitAsync(new SiloBatch().PutMeta("m", [1])); // the WAL and SHM files exist once written
            // A block copy above the 64 KiB threshold: a copy file in a subfolder of memo.db-blocks.
            var address = BlockAddress.FromBytes(Enumerable.Repeat((byte)0x5C, BlockAddress.Length).ToArray());
            await silo.CommitAsync(new SiloBatch().PutBlockCopy(new ShardId(0), address, new byte[100_000]));

            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(folderPath));
            foreach (var name in new[] { "memo.db", "memo.db-wal", "memo.db-shm", "LOCK", NodeIdentity.FileName })
            {
                var path = folder.File(name);
                Assert.True(File.Exists(path), $"{name} exists");
                Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(path));
            }
            var copies = folder.File("memo.db-blocks");
            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(copies));
            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(Path.Combine(copies, "5c")));
            Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(Assert.Single(Directory.GetFiles(Path.Combine(copies, "5c")))));
        }
    }

    [Fact]
    public async Task Database_files_of_an_older_world_readable_folder_are_narrowed_to_0600_when_opened()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permission bits
        }
        var folderPath = NewFolder();
        await using (var silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = folderPath }))
        {
            await silo.CommitAsync(new SiloBatch().PutMeta("m", [1]));
        }
        var database = Path.Combine(folderPath, "memo.db");
        File.SetUnixFileMode(database, OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await using (var silo = await SqliteSilo.OpenAsync(new SqliteSiloOptions { DataDirectory = folderPath }))
        {
            await silo.CommitAsync(new SiloBatch().PutMeta("m", [2]));
            Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(database));
            Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(database + "-wal"));
            Assert.Equal([2], await silo.ReadMetaAsync("m"));
        }
    }

    [Theory]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void A_node_key_other_users_can_access_is_refused_with_the_chmod_to_run(UnixFileMode extra)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permission bits
        }
        using var folder = DataFolder.Open(NewFolder());
        NodeIdentity.LoadOrCreate(folder, passphrase: null).Dispose();
        var keyPath = folder.File(NodeIdentity.FileName);
        File.SetUnixFileMode(keyPath, OwnerReadWrite | extra);

        var refused = Assert.Throws<NodeKeyException>(() => NodeIdentity.LoadOrCreate(folder, passphrase: null));
        output.WriteLine(refused.Message);
        Assert.Contains($"chmod 600 {keyPath}", refused.Message, StringComparison.Ordinal);

        File.SetUnixFileMode(keyPath, OwnerReadWrite);
        NodeIdentity.LoadOrCreate(folder, passphrase: null).Dispose();
    }

    [Fact]
    public async Task A_world_readable_node_key_stops_MemoNode_StartAsync_and_the_node_starts_once_fixed()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permission bits
        }
        var folderPath = NewFolder();
        await using (var first = await TestNode.StartAsync(dataDirectory: folderPath))
        {
        }
        var keyPath = Path.Combine(folderPath, NodeIdentity.FileName);
        File.SetUnixFileMode(keyPath, OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var refused = await Assert.ThrowsAsync<NodeKeyException>(() => TestNode.StartAsync(dataDirectory: folderPath));
        Assert.Contains($"chmod 600 {keyPath}", refused.Message, StringComparison.Ordinal);
        // The folder's lock was released: after the fix the node starts.
        File.SetUnixFileMode(keyPath, OwnerReadWrite);
        await using var fixedNode = await TestNode.StartAsync(dataDirectory: folderPath);
    }

    [Fact]
    public async Task The_node_process_with_a_world_readable_key_prints_the_fix_and_exits_non_zero()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permission bits
        }
        var folderPath = NewFolder();
        using (var folder = DataFolder.Open(folderPath))
        {
            NodeIdentity.LoadOrCreate(folder, passphrase: null).Dispose();
        }
        var keyPath = Path.Combine(folderPath, NodeIdentity.FileName);
        File.SetUnixFileMode(keyPath, OwnerReadWrite | UnixFileMode.OtherRead);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])[NodeProcess.NodeAssembly, "--listen", "127.0.0.1:0", "--remote", "127.0.0.1:0", "--data", folderPath])
        {
            start.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        var text = await stdout + await stderr;
        output.WriteLine(text);

        Assert.Equal(Program.StartFailureExitCode, process.ExitCode);
        Assert.Contains($"chmod 600 {keyPath}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_passphrase_the_key_is_stored_encrypted_and_needs_the_same_passphrase_to_load()
    {
        using var folder = DataFolder.Open(NewFolder());
        using var created = NodeIdentity.LoadOrCreate(folder, "correct horse");
        var text = File.ReadAllText(folder.File(NodeIdentity.FileName));
        Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", text, StringComparison.Ordinal);

        using (var loaded = NodeIdentity.LoadOrCreate(folder, "correct horse"))
        {
            Assert.Equal(created.PublicKey, loaded.PublicKey);
        }
        var missing = Assert.Throws<NodeKeyException>(() => NodeIdentity.LoadOrCreate(folder, passphrase: null));
        Assert.Contains(NodeIdentity.PassphraseVariable, missing.Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<NodeKeyException>(() => NodeIdentity.LoadOrCreate(folder, "battery staple"));
        Assert.Contains("does not decrypt", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_passphrase_given_for_an_unencrypted_key_is_refused_with_how_to_encrypt_it()
    {
        using var folder = DataFolder.Open(NewFolder());
        NodeIdentity.LoadOrCreate(folder, passphrase: null).Dispose();
        var refused = Assert.Throws<NodeKeyException>(() => NodeIdentity.LoadOrCreate(folder, "secret"));
        Assert.Contains("openssl pkcs8 -topk8", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_encrypted_key_made_elsewhere_in_standard_PBES2_form_loads()
    {
        using var original = MemoKeyPair.Generate();
        using var folder = DataFolder.Open(NewFolder());
        var pem = System.Security.Cryptography.PemEncoding.WriteString("ENCRYPTED PRIVATE KEY", original.ExportEncryptedPkcs8("pw", 1000));
        var path = folder.File(NodeIdentity.FileName);
        File.WriteAllText(path, pem);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, OwnerReadWrite);
        }
        using var loaded = NodeIdentity.LoadOrCreate(folder, "pw");
        Assert.Equal(original.PublicKey, loaded.PublicKey);
    }
}
