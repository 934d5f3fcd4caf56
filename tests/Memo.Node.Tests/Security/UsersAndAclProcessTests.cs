using System.Text;
using System.Text.Json;
using Memo.Cli;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Security;

/// <summary>
/// Issue 10's done-when story in one test, on three node processes of a network created with an owner, each step
/// through the <c>memo</c> CLI as a user would run it (MemoClient only for the anonymous caller, which the CLI has no
/// flag for): passports for alice (read, write), bob, dave and eve (read) and carol (read, write); bob cannot write a
/// key, an anonymous client cannot read; alice's ACB is readable by bob through another node and not by eve, and the
/// node processes' silo files hold its ciphertext, never its plaintext; alice makes carol a writer and carol stores
/// the next version as its editor; alice lets bob read through a group, removes him from it, and the next version is
/// unreadable for bob while dave, still a member, reads it.
/// </summary>
public sealed class UsersAndAclProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Owner_alice_bob_carol_and_eve_play_the_whole_passport_and_acl_block_story_on_three_node_processes()
    {
        await using var network = new OwnedProcessNetwork();
        await network.CreateAsync("alice", "bob", "carol", "dave", "eve");
        foreach (var (user, rights) in new[] { ("alice", "read,write"), ("bob", "read"), ("carol", "read,write"), ("dave", "read"), ("eve", "read") })
        {
            await network.CliAsync("passport", "create", "--user", user, "--allow", rights, "--as", "owner");
        }
        await network.StartNodesAsync(3);
        var nodes = network.Nodes.Select(n => n.Address).ToArray();

        // Phase 1: alice writes a key through node 2 once the cluster serves; bob may not write it, anonymous callers
        // may not even read it.
        await network.WaitAsync(async () => (await network.RunAsync("kv", "put", "k", "v1", "--as", "alice", "--node", nodes[1])).Code == ExitCodes.Ok,
            "alice's first write through node 2");
        var (bobPut, bobPutIo) = await network.RunAsync("--json", "kv", "put", "k", "bob", "--as", "bob", "--node", nodes[2]);
        Assert.Equal(ExitCodes.Rejected, bobPut);
        var bobError = JsonDocument.Parse(bobPutIo.Err.ToString()).RootElement.GetProperty("error");
        Assert.Equal(nameof(GrpcStatusCode.PermissionDenied), bobError.GetProperty("status").GetString());
        Assert.Contains("grants read, not write", bobError.GetProperty("message").GetString(), StringComparison.Ordinal);
        using (var anonymous = new MemoClient(nodes[0]))
        {
            Assert.Equal(GrpcStatusCode.Unauthenticated, (await Assert.ThrowsAsync<GrpcException>(() => anonymous.FetchAsync("k"))).Status);
        }

        // Phase 2: alice creates an ACB readable by bob through node 1; bob decrypts it through node 3; eve, with a
        // valid read passport but no ACL entry, cannot through node 2.
        var secret = "alice's secret " + Guid.NewGuid().ToString("n");
        var address = (await network.CliAsync("block", "put-acl", secret, "--key", network.KeyFile("alice"), "--reader", network.PublicKeyFile("bob"),
            "--as", "alice", "--node", nodes[0])).Out.ToString().Trim();
        var (bobGet, bobGetIo) = await network.RunAsync("block", "get", address, "--key", network.KeyFile("bob"), "--as", "bob", "--node", nodes[2]);
        Assert.True(bobGet == ExitCodes.Ok, bobGetIo.Err.ToString());
        Assert.Equal(secret, bobGetIo.StdoutText);
        var (eveGet, eveGetIo) = await network.RunAsync("block", "get", address, "--key", network.KeyFile("eve"), "--as", "eve", "--node", nodes[1]);
        Assert.Equal(ExitCodes.Rejected, eveGet);
        Assert.Contains("may not read", eveGetIo.Err.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret, eveGetIo.Out.ToString() + eveGetIo.StdoutText, StringComparison.Ordinal);

        // Phase 3: the node processes' silo files (memo.db and its WAL, read while they run) hold the stored
        // ciphertext on a majority of the nodes (so the scan looks where blocks are) and the plaintext on none.
        var stored = await BlockJsonAsync(network, "block", "get", address, "--as", "bob", "--node", nodes[0]);
        var ciphertext = Convert.FromBase64String(stored.GetProperty("data").GetString()!);
        Assert.DoesNotContain(secret, Encoding.UTF8.GetString(ciphertext), StringComparison.Ordinal);
        var holding = 0;
        for (var i = 0; i < 3; i++)
        {
            var files = SiloBytes(network.DataDirectory(i));
            Assert.True(files.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"node {i + 1}'s silo files hold alice's plaintext");
            holding += files.AsSpan().IndexOf(ciphertext) >= 0 ? 1 : 0;
        }
        Assert.True(holding >= 2, $"the ACB's ciphertext was found in {holding} nodes' silo files, fewer than a majority of 3 (the scan looks in the wrong place)");

        // Phase 4: alice adds carol as a writer; carol (a write passport, no ownership) stores the next version through
        // node 2, signed by her as its editor; bob reads it through node 3.
        var aclAdded = await BlockJsonAsync(network, "block", "acl", "add", address, "--key", network.KeyFile("alice"), "--user", network.PublicKeyFile("carol"),
            "--write", "--as", "alice", "--node", nodes[0]);
        var versionBeforeCarol = aclAdded.GetProperty("version").GetInt64();
        var carolUpdate = await BlockJsonAsync(network, "block", "update", address, "carol's edit", "--key", network.KeyFile("carol"), "--as", "carol", "--node", nodes[1]);
        Assert.Equal(versionBeforeCarol + 1, carolUpdate.GetProperty("version").GetInt64());
        var byCarol = await BlockJsonAsync(network, "block", "get", address, "--key", network.KeyFile("bob"), "--as", "bob", "--node", nodes[2]);
        Assert.Equal(versionBeforeCarol + 1, byCarol.GetProperty("version").GetInt64());
        Assert.Equal(network.PublicKey("carol").ToString(), byCarol.GetProperty("acl").GetProperty("editorId").GetString());
        Assert.Equal("carol's edit", Encoding.UTF8.GetString(Convert.FromBase64String(byCarol.GetProperty("decrypted").GetString()!)));

        // Phase 5: alice lets bob (and dave) read through a group instead of bob's own entry; bob still reads.
        var group = (await BlockJsonAsync(network, "block", "group", "create", "--key", network.KeyFile("alice"), "--member", network.PublicKeyFile("bob"),
            "--member", network.PublicKeyFile("dave"), "--as", "alice", "--node", nodes[0])).GetProperty("address").GetString()!;
        await network.CliAsync("block", "acl", "add", address, "--key", network.KeyFile("alice"), "--group", group, "--as", "alice", "--node", nodes[0]);
        await network.CliAsync("block", "acl", "remove", address, "--key", network.KeyFile("alice"), "--user", network.PublicKeyFile("bob"), "--as", "alice", "--node", nodes[0]);
        var viaGroup = await BlockJsonAsync(network, "block", "get", address, "--key", network.KeyFile("bob"), "--as", "bob", "--node", nodes[2]);
        Assert.DoesNotContain(viaGroup.GetProperty("acl").GetProperty("users").EnumerateArray(),
            entry => entry.GetProperty("keyId").GetString() == network.PublicKey("bob").ToString());
        Assert.Equal("carol's edit", Encoding.UTF8.GetString(Convert.FromBase64String(viaGroup.GetProperty("decrypted").GetString()!)));

        // Phase 6: alice removes bob from the group (a new generation of the group key); carol writes the next version;
        // bob cannot read it, dave (still a member) can.
        await network.CliAsync("block", "group", "remove", group, "--key", network.KeyFile("alice"), "--member", network.PublicKeyFile("bob"), "--as", "alice", "--node", nodes[1]);
        await network.CliAsync("block", "update", address, "after bob left", "--key", network.KeyFile("carol"), "--as", "carol", "--node", nodes[2]);
        var (bobAfter, bobAfterIo) = await network.RunAsync("block", "get", address, "--key", network.KeyFile("bob"), "--as", "bob", "--node", nodes[1]);
        Assert.Equal(ExitCodes.Rejected, bobAfter);
        Assert.Contains("may not read", bobAfterIo.Err.ToString(), StringComparison.Ordinal);
        var (daveGet, daveGetIo) = await network.RunAsync("block", "get", address, "--key", network.KeyFile("dave"), "--as", "dave", "--node", nodes[0]);
        Assert.True(daveGet == ExitCodes.Ok, daveGetIo.Err.ToString());
        Assert.Equal("after bob left", daveGetIo.StdoutText);
        var final = await BlockJsonAsync(network, "block", "acl", "show", address, "--as", "dave", "--node", nodes[0]);
        output.WriteLine($"ACB {address}: version {final.GetProperty("version").GetInt64()}, ACL version {final.GetProperty("aclVersion").GetInt64()}, "
            + $"group {group} at generation {final.GetProperty("groups")[0].GetProperty("generation").GetInt32()}");
        Assert.Equal(1, final.GetProperty("groups")[0].GetProperty("generation").GetInt32());
    }

    // Runs a CLI command with --json, asserts it succeeded, and parses what it printed.
    private static async Task<JsonElement> BlockJsonAsync(OwnedProcessNetwork network, params string[] args)
    {
        var io = await network.CliAsync(["--json", .. args]);
        return JsonDocument.Parse(io.Out.ToString()).RootElement.Clone();
    }

    // The node's SQLite files (memo.db and memo.db-wal, which hold blocks and the Raft log), read while the node runs
    // and writes them: opened for reading with every sharing mode, so the node is neither blocked nor disturbed.
    private static byte[] SiloBytes(string dataDirectory)
    {
        var files = Directory.GetFiles(dataDirectory, "memo.db*").Where(p => !p.EndsWith("-shm", StringComparison.Ordinal)).ToList();
        Assert.Contains(files, p => Path.GetFileName(p) == "memo.db");
        using var all = new MemoryStream();
        foreach (var path in files)
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.CopyTo(all);
        }
        return all.ToArray();
    }
}
