using System.Security.Cryptography;
using System.Text;
using Memo.Node.Storage;
using Memo.Node.Storage.Policies;
using Memo.Protocol.Blocks;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Policies;

/// <summary>
/// With encryption at rest on, the silo's files (the database and its WAL) hold no plaintext value: not in entries,
/// blocks, block copies, Raft log rows nor snapshot payloads. Entry keys stay readable (the silo orders them). A missing
/// or wrong key-encryption key stops the start; the right one reads everything back.
/// </summary>
public sealed class EncryptionAtRestTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("memo-encryption-");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task A_sealed_sqlite_silo_stores_no_plaintext_value_and_reopens_only_with_its_kek()
    {
        var kek = KeyEncryptionKey.FromBytes(RandomNumberGenerator.GetBytes(32), "test kek");
        var policies = new DataPolicies(ValueCompression.Off, EncryptAtRest: true);
        var options = new SqliteSiloOptions { DataDirectory = _root.FullName };
        var shard = new ShardId(3);
        var block = BlockAddress.FromBytes(Enumerable.Repeat((byte)0xAB, BlockAddress.Length).ToArray());
        var copy = BlockAddress.FromBytes(Enumerable.Repeat((byte)0xCD, BlockAddress.Length).ToArray());
        // Above SqliteSiloOptions.CopyFileThreshold (64 KiB): this copy is stored in a copy file, sealed like a row.
        var fileCopy = BlockAddress.FromBytes(Enumerable.Repeat((byte)0xEF, BlockAddress.Length).ToArray());
        var fileCopyValue = Value("secret-file-copy-f6" + new string('f', 100_000));
        string[] secrets = ["secret-entry-e1", "secret-block-b2", "secret-copy-c3", "secret-log-l4", "secret-snapshot-s5", "secret-file-copy-f6"];
        await using (var silo = await SealedSilo.OpenAsync(await SqliteSilo.OpenAsync(options), policies, kek, null, CancellationToken.None))
        {
            await silo.CommitAsync(new SiloBatch()
                .PutEntry(shard, "visible-key-name", Value(secrets[0]))
                .PutBlock(shard, block, Value(secrets[1]))
                .PutBlockCopy(shard, copy, Value(secrets[2]))
                .PutBlockCopy(shard, fileCopy, fileCopyValue)
                .AppendLog(shard, new LogIndex(1), new Term(1), Value(secrets[3]))
                .PutMeta("raft/3/snapshot", Value(secrets[4])));
            // While open: what is committed sits in the WAL (and the large copy in its file).
            Assert.Single(CopyFiles());
            AssertNoPlaintext(secrets);
        }
        // After close: the WAL was checkpointed into the database file.
        AssertNoPlaintext(secrets);
        Assert.True(FilesContain("visible-key-name"), "entry keys are stored as they are (documented)");

        var missing = await Assert.ThrowsAsync<KeyEncryptionKeyException>(async () =>
            await SealedSilo.OpenAsync(await SqliteSilo.OpenAsync(options), policies, null, null, CancellationToken.None));
        output.WriteLine(missing.Message);
        Assert.Contains("memo.node.kek-file", missing.Message, StringComparison.Ordinal);
        var wrong = await Assert.ThrowsAsync<KeyEncryptionKeyException>(async () =>
            await SealedSilo.OpenAsync(await SqliteSilo.OpenAsync(options), policies, KeyEncryptionKey.FromBytes(new byte[32], "wrong kek"), null, CancellationToken.None));
        output.WriteLine(wrong.Message);
        Assert.Contains("wrong kek", wrong.Message, StringComparison.Ordinal);

        await using (var reopened = await SealedSilo.OpenAsync(await SqliteSilo.OpenAsync(options), policies, kek, null, CancellationToken.None))
        {
            Assert.Equal(Value(secrets[0]), await reopened.ReadEntryAsync("visible-key-name"));
            Assert.Equal(Value(secrets[1]), await reopened.ReadBlockAsync(block));
            Assert.Equal(Value(secrets[2]), await reopened.ReadBlockAsync(copy));
            Assert.Equal(fileCopyValue, await reopened.ReadBlockAsync(fileCopy));
            Assert.Equal(Value(secrets[3]), (await reopened.ReadLogAsync(shard, new LogIndex(1), new LogIndex(2))).Single().Data);
            Assert.Equal(Value(secrets[4]), await reopened.ReadMetaAsync("raft/3/snapshot"));
            Assert.Equal(Value(secrets[0]), (await reopened.ScanShardAsync(shard, null, 10)).Single(r => r.Key is not null).Value);
        }
    }

    [Fact]
    public async Task A_node_rotates_its_kek_when_given_the_previous_one_and_then_starts_with_the_new_one_alone()
    {
        var policies = new DataPolicies(ValueCompression.Zstd, EncryptAtRest: true);
        var options = new SqliteSiloOptions { DataDirectory = _root.FullName };
        var old = KeyEncryptionKey.FromBytes(RandomNumberGenerator.GetBytes(32), "old kek");
        var @new = KeyEncryptionKey.FromBytes(RandomNumberGenerator.GetBytes(32), "new kek");
        await using (var silo = await SealedSilo.OpenAsync(await SqliteSilo.OpenAsync(options), policies, old, null, CancellationToken.None))
        {
            await silo.CommitAsync(new SiloBatch().PutEntry(new ShardId(0), "k", Value("before rotation")));
        }
        await using (var rotating = await SealedSilo.OpenAsync(await SqliteSilo.OpenAsync(options), policies, @new, old, CancellationToken.None))
        {
            Assert.Equal(Value("before rotation"), await rotating.ReadEntryAsync("k"));
        }
        await Assert.ThrowsAsync<KeyEncryptionKeyException>(async () =>
            await SealedSilo.OpenAsync(await SqliteSilo.OpenAsync(options), policies, old, null, CancellationToken.None));
        await using var rotated = await SealedSilo.OpenAsync(await SqliteSilo.OpenAsync(options), policies, @new, null, CancellationToken.None);
        Assert.Equal(Value("before rotation"), await rotated.ReadEntryAsync("k"));
    }

    [Fact]
    public async Task A_node_with_encryption_on_keeps_no_plaintext_value_on_disk_and_needs_its_kek_to_start_again()
    {
        var kekFile = Path.Combine(_root.FullName, "node.kek");
        DataKeyRingTests.WriteOwnerOnly(kekFile, Encoding.ASCII.GetBytes(KeyEncryptionKey.NewBase64()));
        var wrongKekFile = Path.Combine(_root.FullName, "wrong.kek");
        DataKeyRingTests.WriteOwnerOnly(wrongKekFile, Encoding.ASCII.GetBytes(KeyEncryptionKey.NewBase64()));
        var folder = Path.Combine(_root.FullName, "data");
        string[] overrides(string kek) =>
        [
            "memo.network.encrypt-at-rest = on",
            $"memo.node.kek-file = \"{kek}\"",
            // Snapshots early, so their payloads (a whole shard's records) are on disk too.
            "memo.raft.snapshot-threshold = 8",
            "memo.shards.count = 4",
        ];
        var small = Enumerable.Range(0, 40).Select(i => (Key: $"key/{i:D2}", Value: Value($"marker-small-{i:D2}-" + new string('v', 50)))).ToArray();
        var large = Value("marker-large-" + new string('w', 9_000));
        await using (var node = await TestNode.StartAsync(overrides(kekFile), folder))
        {
            using var client = node.Client();
            foreach (var (key, value) in small)
            {
                await client.UpsertAsync(key, value);
            }
            await client.UpsertAsync("large", large);
            await client.InsertImmutableBlockAsync(Value("marker-block-" + new string('b', 200)));

            // The CLI round trip: memo kv put / get, and memo network show saying the policy is on.
            var (putCode, _) = await RunCliAsync("kv", "put", "from-cli", "marker-cli-value", "--node", node.Address);
            Assert.Equal(Memo.Cli.ExitCodes.Ok, putCode);
            var (getCode, got) = await RunCliAsync("kv", "get", "from-cli", "--node", node.Address);
            Assert.Equal(Memo.Cli.ExitCodes.Ok, getCode);
            Assert.Equal("marker-cli-value", got.Trim());
            var (showCode, shown) = await RunCliAsync("network", "show", "--remote", node.Node.RemoteAddress, "--timeout", "10s");
            output.WriteLine(shown);
            Assert.Equal(Memo.Cli.ExitCodes.Ok, showCode);
            Assert.Contains("encrypt at rest    on", shown, StringComparison.Ordinal);
            AssertNoPlaintext(["marker-small-", "marker-large-", "marker-block-", "marker-cli-value"], folder);
        }
        AssertNoPlaintext(["marker-small-", "marker-large-", "marker-block-", "marker-cli-value"], folder);

        var wrong = await Assert.ThrowsAsync<KeyEncryptionKeyException>(() => TestNode.StartAsync(overrides(wrongKekFile), folder));
        output.WriteLine(wrong.Message);
        var missing = await Assert.ThrowsAsync<KeyEncryptionKeyException>(() => TestNode.StartAsync(["memo.shards.count = 4"], folder));
        output.WriteLine(missing.Message);

        await using (var restarted = await TestNode.StartAsync(overrides(kekFile), folder))
        {
            using var client = restarted.Client();
            foreach (var (key, value) in small)
            {
                Assert.Equal(value, await client.FetchAsync(key));
            }
            Assert.Equal(large, await client.FetchAsync("large"));
        }
    }

    [Fact]
    public async Task Three_nodes_with_encryption_on_replicate_values_that_no_node_keeps_in_plaintext()
    {
        var kekFile = Path.Combine(_root.FullName, "cluster.kek");
        DataKeyRingTests.WriteOwnerOnly(kekFile, Encoding.ASCII.GetBytes(KeyEncryptionKey.NewBase64()));
        await using var cluster = await Memo.Testing.InProcessCluster.StartAsync(3,
            ["memo.network.encrypt-at-rest = on", $"memo.node.kek-file = \"{kekFile}\"", "memo.shards.count = 4", "memo.raft.snapshot-threshold = 8"]);
        await cluster.WaitForVoterReplicasEverywhereAsync(3, TimeSpan.FromSeconds(60));
        string[] markers = [.. Enumerable.Range(0, 12).Select(i => $"marker-cluster-{i:D2}-" + new string('c', 40)), "marker-cluster-large-" + new string('L', 9_000)];

        // Written through the CLI on one node, read back through the CLI on another.
        for (var i = 0; i < markers.Length; i++)
        {
            var put = new Memo.Node.Tests.Cli.FakeIo(Value(markers[i]));
            Assert.Equal(Memo.Cli.ExitCodes.Ok, await new Memo.Cli.MemoCli(put.Io).RunAsync(["kv", "put", $"sealed/{i}", "-", "--node", cluster.Nodes[0].Address, "--timeout", "30s"]));
        }
        for (var i = 0; i < markers.Length; i++)
        {
            var get = new Memo.Node.Tests.Cli.FakeIo();
            Assert.Equal(Memo.Cli.ExitCodes.Ok, await new Memo.Cli.MemoCli(get.Io).RunAsync(["kv", "get", $"sealed/{i}", "--node", cluster.Nodes[2].Address, "--timeout", "30s"]));
            Assert.Equal(markers[i], get.StdoutText);
        }
        // Every replica holds the values (log rows, entries, copies of the large one) before the files are read.
        await cluster.WaitUntilAsync(nodes => nodes.All(n => Enumerable.Range(0, 4).All(s =>
            {
                var leaderCommit = nodes.Select(o => o.Running.Shards.TryGetReplica(new ShardId(s), out var r) && r.Status.IsLeader ? r.Status.Commit : default).Max();
                return n.Running.Shards.TryGetReplica(new ShardId(s), out var mine) && mine.Status.Applied >= leaderCommit;
            })), "every replica applied what its leader committed", TimeSpan.FromSeconds(30));
        foreach (var node in cluster.Nodes)
        {
            AssertNoPlaintext(markers.Select(m => m[..24]), node.DataDirectory);
            Assert.True(FilesContain("sealed/1", node.DataDirectory), $"node {node.Index} holds the entries (their keys stay readable, as documented)");
        }
    }

    private static byte[] Value(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task<(int Code, string Out)> RunCliAsync(params string[] args)
    {
        var io = new Memo.Node.Tests.Cli.FakeIo();
        var code = await new Memo.Cli.MemoCli(io.Io).RunAsync(args);
        return (code, io.StdoutText + io.Out);
    }

    private void AssertNoPlaintext(IEnumerable<string> secrets, string? folder = null)
    {
        foreach (var secret in secrets)
        {
            Assert.False(FilesContain(secret, folder), $"'{secret}' is in the silo's files in plaintext");
        }
    }

    private bool FilesContain(string text, string? folder = null)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        // The database, its WAL, and the copy files under memo.db-blocks/ (large block copies).
        var files = Directory.GetFiles(folder ?? _root.FullName, "memo.db*").Concat(CopyFiles(folder)).ToArray();
        Assert.NotEmpty(files);
        return files.Any(file =>
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            return memory.GetBuffer().AsSpan(0, (int)memory.Length).IndexOf(needle) >= 0;
        });
    }

    private string[] CopyFiles(string? folder = null)
    {
        var copies = Path.Combine(folder ?? _root.FullName, "memo.db-blocks");
        return Directory.Exists(copies) ? Directory.GetFiles(copies, "*", SearchOption.AllDirectories) : [];
    }
}
