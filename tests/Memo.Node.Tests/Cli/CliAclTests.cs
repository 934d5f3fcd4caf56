using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Memo.Cli;
using Memo.Protocol.Blocks;
using Memo.Protocol.Security;
using Memo.Testing;

namespace Memo.Node.Tests.Cli;

/// <summary>
/// <c>memo block put-acl</c>, <c>get --key</c>, <c>update --key</c>, <c>acl add|remove|show</c> and <c>group</c> against a
/// real in-process node, with users' keys in PEM files as a user would keep them.
/// </summary>
public sealed class CliAclTests : IAsyncLifetime
{
    private readonly string _keys = Path.Combine(Path.GetTempPath(), "memo-acl-keys-" + Guid.NewGuid().ToString("n"));
    private TestNode _node = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_keys);
        foreach (var user in new[] { "alice", "bob", "carol", "dave" })
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            PemFiles.WriteKey(Path.Combine(_keys, user + ".key"), key);
            File.WriteAllText(Path.Combine(_keys, user + ".pub"), PemEncoding.WriteString("PUBLIC KEY", key.ExportSubjectPublicKeyInfo()));
        }
        _node = await TestNode.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }

    private string Key(string user) => Path.Combine(_keys, user + ".key");

    private string Pub(string user) => Path.Combine(_keys, user + ".pub");

    private async Task<(int Code, FakeIo Io)> RunAsync(params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--node", _node.Address, "--timeout", "30s"]);
        return (code, io);
    }

    private async Task<string> PutAsync(params string[] args)
    {
        var (code, io) = await RunAsync(["block", "put-acl", .. args]);
        Assert.True(code == ExitCodes.Ok, io.Err.ToString());
        var address = io.Out.ToString().Trim();
        Assert.True(BlockAddress.TryParse(address, out _), $"put-acl printed '{address}', not an address");
        return address;
    }

    [Fact]
    public async Task An_acb_put_with_a_reader_is_read_by_the_reader_and_refused_to_others()
    {
        var address = await PutAsync("for bob", "--key", Key("alice"), "--reader", Pub("bob"));

        var (asBob, bobIo) = await RunAsync("block", "get", address, "--key", Key("bob"));
        Assert.Equal(ExitCodes.Ok, asBob);
        Assert.Equal("for bob", bobIo.StdoutText);

        var (asCarol, carolIo) = await RunAsync("block", "get", address, "--key", Key("carol"));
        Assert.Equal(ExitCodes.Rejected, asCarol);
        Assert.Contains("may not read version 0", carolIo.Err.ToString());

        var (noKey, noKeyIo) = await RunAsync("block", "get", address);
        Assert.Equal(ExitCodes.Usage, noKey);
        Assert.Contains("pass --key", noKeyIo.Err.ToString());
    }

    [Fact]
    public async Task Acl_add_makes_a_writer_whose_update_is_the_next_version_and_acl_show_names_the_editor()
    {
        var address = await PutAsync("v0", "--key", Key("alice"), "--reader", Pub("bob"));
        var (denied, deniedIo) = await RunAsync("block", "update", address, "carol's", "--key", Key("carol"));
        Assert.Equal(ExitCodes.Rejected, denied);
        Assert.Contains("nor a writer", deniedIo.Err.ToString());

        var (add, addIo) = await RunAsync("block", "acl", "add", address, "--key", Key("alice"), "--user", Pub("carol"), "--write");
        Assert.True(add == ExitCodes.Ok, addIo.Err.ToString());
        Assert.Contains("may write (ACL version 1)", addIo.Out.ToString());
        var (update, updateIo) = await RunAsync("block", "update", address, "carol's", "--key", Key("carol"));
        Assert.True(update == ExitCodes.Ok, updateIo.Err.ToString());
        Assert.Contains("to version 2", updateIo.Out.ToString());

        var (get, getIo) = await RunAsync("block", "get", address, "--key", Key("bob"));
        Assert.Equal(ExitCodes.Ok, get);
        Assert.Equal("carol's", getIo.StdoutText);

        var (show, showIo) = await RunAsync("--json", "block", "acl", "show", address);
        Assert.Equal(ExitCodes.Ok, show);
        using var acl = JsonDocument.Parse(showIo.Out.ToString());
        var root = acl.RootElement;
        Assert.Equal(2, root.GetProperty("version").GetInt64());
        Assert.Equal(1, root.GetProperty("aclVersion").GetInt64());
        var users = root.GetProperty("users").EnumerateArray().ToList();
        Assert.Equal(2, users.Count);
        Assert.Equal(root.GetProperty("editorId").GetString(), users[1].GetProperty("keyId").GetString());
        Assert.False(users[1].GetProperty("read").GetBoolean());
        Assert.True(users[1].GetProperty("write").GetBoolean());
    }

    [Fact]
    public async Task Acl_remove_takes_a_readers_access_to_the_next_version_away()
    {
        var address = await PutAsync("v0", "--key", Key("alice"), "--reader", Pub("bob"));

        var (remove, removeIo) = await RunAsync("block", "acl", "remove", address, "--key", Key("alice"), "--user", Pub("bob"));
        Assert.True(remove == ExitCodes.Ok, removeIo.Err.ToString());

        Assert.Equal(ExitCodes.Rejected, (await RunAsync("block", "get", address, "--key", Key("bob"))).Code);
        var (owner, ownerIo) = await RunAsync("block", "get", address, "--key", Key("alice"));
        Assert.Equal(ExitCodes.Ok, owner);
        Assert.Equal("v0", ownerIo.StdoutText);
        // Only the owner changes the ACL.
        var (byBob, byBobIo) = await RunAsync("block", "acl", "add", address, "--key", Key("bob"), "--user", Pub("bob"));
        Assert.Equal(ExitCodes.Rejected, byBob);
        Assert.Contains("only the owner", byBobIo.Err.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_member_removed_from_a_group_cannot_read_the_next_version()
    {
        var (create, createIo) = await RunAsync("block", "group", "create", "--key", Key("alice"), "--member", Pub("bob"), "--member", Pub("dave"));
        Assert.True(create == ExitCodes.Ok, createIo.Err.ToString());
        var group = createIo.Out.ToString().Trim();
        var address = await PutAsync("v0 for the group", "--key", Key("alice"), "--group", group);
        var (viaGroup, viaGroupIo) = await RunAsync("block", "get", address, "--key", Key("bob"));
        Assert.Equal(ExitCodes.Ok, viaGroup);
        Assert.Equal("v0 for the group", viaGroupIo.StdoutText);

        var (remove, removeIo) = await RunAsync("block", "group", "remove", group, "--key", Key("alice"), "--member", Pub("bob"));
        Assert.True(remove == ExitCodes.Ok, removeIo.Err.ToString());
        Assert.Contains("generation 1", removeIo.Out.ToString());
        Assert.Equal(ExitCodes.Ok, (await RunAsync("block", "update", address, "v1", "--key", Key("alice"))).Code);

        Assert.Equal(ExitCodes.Rejected, (await RunAsync("block", "get", address, "--key", Key("bob"))).Code);
        var (asDave, daveIo) = await RunAsync("block", "get", address, "--key", Key("dave"));
        Assert.Equal(ExitCodes.Ok, asDave);
        Assert.Equal("v1", daveIo.StdoutText);
        var (show, showIo) = await RunAsync("block", "group", "show", group);
        Assert.Equal(ExitCodes.Ok, show);
        Assert.Equal(2, showIo.Out.ToString().Split('\n').Count(line => line.StartsWith("member ", StringComparison.Ordinal))); // alice (the owner) and dave
    }

    [Fact]
    public async Task Get_json_shows_the_stored_ciphertext_the_decrypted_data_and_the_acl()
    {
        var address = await PutAsync("secret", "--key", Key("alice"), "--reader", Pub("bob"));

        var (code, io) = await RunAsync("--json", "block", "get", address, "--key", Key("bob"));
        Assert.Equal(ExitCodes.Ok, code);
        using var doc = JsonDocument.Parse(io.Out.ToString());
        Assert.Equal("ACB", doc.RootElement.GetProperty("type").GetString());
        Assert.Equal("secret", Encoding.UTF8.GetString(doc.RootElement.GetProperty("decrypted").GetBytesFromBase64()));
        Assert.DoesNotContain("secret", Encoding.UTF8.GetString(doc.RootElement.GetProperty("data").GetBytesFromBase64()));
        Assert.Single(doc.RootElement.GetProperty("acl").GetProperty("users").EnumerateArray());
    }

    [Fact]
    public async Task Delete_with_the_owners_key_tombstones_an_acb_and_nothing_is_read_or_written_after_it()
    {
        var address = await PutAsync("v0", "--key", Key("alice"), "--reader", Pub("bob"), "--writer", Pub("carol"));
        Assert.Equal(ExitCodes.Rejected, (await RunAsync("block", "delete", address, "--key", Key("carol"))).Code);
        var (unsigned, unsignedIo) = await RunAsync("block", "delete", address);
        Assert.Equal(ExitCodes.Rejected, unsigned);
        Assert.Contains("not owned by this node", unsignedIo.Err.ToString());

        var (delete, deleteIo) = await RunAsync("block", "delete", address, "--key", Key("alice"));
        Assert.True(delete == ExitCodes.Ok, deleteIo.Err.ToString());

        var (get, getIo) = await RunAsync("block", "get", address, "--key", Key("alice"));
        Assert.Equal(ExitCodes.Rejected, get);
        Assert.Contains("was removed", getIo.Err.ToString());
        Assert.Equal(ExitCodes.Rejected, (await RunAsync("block", "update", address, "again", "--key", Key("alice"))).Code);
        var (show, showIo) = await RunAsync("--json", "block", "acl", "show", address);
        Assert.Equal(ExitCodes.Ok, show);
        using var doc = JsonDocument.Parse(showIo.Out.ToString());
        Assert.True(doc.RootElement.GetProperty("deleted").GetBoolean());
        Assert.Equal(1, doc.RootElement.GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task A_missing_or_unreadable_key_file_is_a_usage_error()
    {
        var (code, io) = await RunAsync("block", "put-acl", "x", "--key", Path.Combine(_keys, "nobody.key"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("nobody.key", io.Err.ToString());
        Assert.Equal(ExitCodes.Usage, (await RunAsync("block", "put-acl", "x")).Code);
    }
}
