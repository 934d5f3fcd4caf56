using System.Text;
using Google.Protobuf;
using Memo.Node.Tests.ClusterData;
using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.ValueStore;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Api;

/// <summary>A 3-node in-process cluster shared by the ACB tests (each test uses blocks of its own).</summary>
public sealed class AclClusterFixture : IAsyncLifetime
{
    /// <summary>The cluster, every shard's group on its 3 ring replicas.</summary>
    public InProcessCluster Cluster { get; private set; } = null!;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Cluster = await InProcessCluster.StartAsync(3, ["memo.raft.tick-interval = 20ms"]);
        await ClusterDataTests.WaitAsync(Cluster, n => ClusterDataTests.GroupsMatchRing(n, 3, 3), "every shard's group = its 3 ring replicas");
    }

    /// <inheritdoc />
    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>A client of node <paramref name="index"/>.</summary>
    public MemoClient Client(int index) => new(Cluster.Nodes[index].Address, new MemoClientOptions { Timeout = TimeSpan.FromSeconds(30) });
}

/// <summary>
/// The done-when story of issue 10's ACB item on a 3-node in-process cluster, through <c>memo.vs</c> (MemoClient's ACB
/// helpers sign and decrypt client-side): readers decrypt, others cannot and the silos hold ciphertext only; a writer
/// added by the owner signs the next version; a member removed from a group cannot read the next version. Then forged
/// and rolled-back writes sent on the wire, each refused with nothing changed.
/// </summary>
public sealed class AclBlockClusterTests(AclClusterFixture fixture, ITestOutputHelper output) : IClassFixture<AclClusterFixture>, IDisposable
{
    private readonly MemoKeyPair _alice = MemoKeyPair.Generate();
    private readonly MemoKeyPair _bob = MemoKeyPair.Generate();
    private readonly MemoKeyPair _carol = MemoKeyPair.Generate();
    private readonly MemoKeyPair _dave = MemoKeyPair.Generate();
    private readonly MemoKeyPair _eve = MemoKeyPair.Generate();

    public void Dispose()
    {
        foreach (var key in new[] { _alice, _bob, _carol, _dave, _eve })
        {
            key.Dispose();
        }
    }

    [Fact]
    public async Task Alice_shares_with_bob_adds_carol_as_writer_and_removes_bob_from_a_group()
    {
        using var alice = fixture.Client(0);
        using var bobClient = fixture.Client(1);
        using var carolClient = fixture.Client(2);
        var secret = "alice's secret " + Guid.NewGuid().ToString("n");

        // Phase 1: alice creates an ACB readable by bob; bob decrypts it through another node, eve (no ACL entry) cannot.
        var created = await alice.CreateAclBlockAsync(_alice, Encoding.UTF8.GetBytes(secret), AccessList.OwnerOnly.With(new AclGrant(_bob.PublicKey, Read: true, Write: false)));
        var address = created.GetAddress();
        var asBob = await bobClient.ReadAclBlockAsync(address, _bob);
        Assert.NotNull(asBob);
        Assert.Equal(secret, Encoding.UTF8.GetString(asBob.Data!));
        var asEve = await carolClient.ReadAclBlockAsync(address, _eve);
        Assert.NotNull(asEve);
        Assert.False(asEve.Readable, "eve, in no ACL entry, decrypted alice's block");

        // Phase 2: the silos hold the ciphertext (found on a majority) and never the plaintext.
        var ciphertext = created.Data.ToByteArray();
        var holding = 0;
        foreach (var slot in fixture.Cluster.Nodes)
        {
            var files = SiloBytes(slot.DataDirectory);
            Assert.True(IndexOf(files, Encoding.UTF8.GetBytes(secret)) < 0, $"node {slot.Index}'s data folder holds alice's plaintext");
            holding += IndexOf(files, ciphertext) >= 0 ? 1 : 0;
        }
        Assert.True(holding >= 2, $"the ACB's ciphertext was found in {holding} nodes' data folders, fewer than a majority of 3 (the scan looks in the wrong place)");

        // Phase 3: alice adds carol as a writer; carol writes version + 1 as its editor; bob reads it.
        Assert.Same(BlockUpdateResult.Updated, await alice.ChangeAclAsync(address, _alice, acl => acl.With(new AclGrant(_carol.PublicKey, Read: false, Write: true))));
        Assert.Same(BlockUpdateResult.Updated, await carolClient.WriteAclBlockAsync(address, _carol, "carol's edit"u8.ToArray()));
        var byCarol = await bobClient.ReadAclBlockAsync(address, _bob);
        Assert.Equal(2, byCarol!.Block.Version);
        Assert.Equal(_carol.PublicKey, AclBlocks.EditorOf(byCarol.Block));
        Assert.Equal("carol's edit", Encoding.UTF8.GetString(byCarol.Data!));

        // Phase 4: bob and dave read through a group instead; alice removes bob from the group; the next version is
        // unreadable for bob and readable for dave.
        var group = await alice.CreateGroupAsync(_alice, [_bob.PublicKey, _dave.PublicKey]);
        var groupAddress = group.GetAddress();
        Assert.Same(BlockUpdateResult.Updated, await alice.ChangeAclAsync(address, _alice, acl => acl.Without(_bob.PublicKey).WithGroup(groupAddress)));
        var viaGroup = await bobClient.ReadAclBlockAsync(address, _bob);
        Assert.Equal("carol's edit", Encoding.UTF8.GetString(viaGroup!.Data!));
        Assert.DoesNotContain(viaGroup.Block.Acl, e => _bob.PublicKey.Matches(e.Key.Span));

        Assert.Same(BlockUpdateResult.Updated, await alice.RemoveGroupMemberAsync(groupAddress, _alice, _bob.PublicKey));
        Assert.Same(BlockUpdateResult.Updated, await carolClient.WriteAclBlockAsync(address, _carol, "after bob left"u8.ToArray()));
        var afterRemoval = await bobClient.ReadAclBlockAsync(address, _bob);
        Assert.False(afterRemoval!.Readable, "bob, removed from the group, decrypted the version written after his removal");
        Assert.Equal(1, afterRemoval.Block.GroupAcl[0].Generation);
        var asDave = await bobClient.ReadAclBlockAsync(address, _dave);
        Assert.Equal("after bob left", Encoding.UTF8.GetString(asDave!.Data!));
        output.WriteLine($"ACB {address}: version {afterRemoval.Block.Version}, ACL version {afterRemoval.Block.AclVersion}, group generation {afterRemoval.Block.GroupAcl[0].Generation}");
    }

    [Fact]
    public async Task Forged_acb_writes_sent_on_the_wire_are_refused_and_change_nothing()
    {
        using var client = fixture.Client(1);
        var access = AccessList.OwnerOnly.With(new AclGrant(_bob.PublicKey, true, false)).With(new AclGrant(_carol.PublicKey, false, true));
        var v0 = await client.CreateAclBlockAsync(_alice, "v0"u8.ToArray(), access);
        var address = v0.GetAddress();

        // Data signed by a non-writer (bob reads only).
        var byReader = AclBlocks.Edit(v0, _carol, "bob's"u8);
        byReader.EditorKey = ByteString.CopyFrom(_bob.PublicKey.Spki.Span);
        byReader.DataSignature = ByteString.CopyFrom(_bob.SignDigest(AclSigning.DataDigest(byReader)));
        await AssertStatusAsync(GrpcStatusCode.PermissionDenied, () => client.UpdateBlockAsync(byReader));

        // An ACL change by a writer, under the owner's old signature.
        var aclByWriter = AclBlocks.Edit(v0, _carol, "carol's"u8);
        aclByWriter.Acl[1].Read = true;
        aclByWriter.Acl[1].Token = aclByWriter.Acl[0].Token;
        aclByWriter.DataSignature = ByteString.CopyFrom(_carol.SignDigest(AclSigning.DataDigest(aclByWriter)));
        await AssertStatusAsync(GrpcStatusCode.PermissionDenied, () => client.UpdateBlockAsync(aclByWriter));

        // A removal that is not the owner's tombstone.
        await AssertStatusAsync(GrpcStatusCode.InvalidArgument,
            () => client.DeleteBlockAsync(address, BlockFactory.RemovalSignature(v0, _alice)));

        // Versions 1 and 2, then a rollback to a validly signed version 1 and a tombstone at version 1: conflicts.
        var v1 = AclBlocks.Edit(v0, _carol, "v1"u8);
        var lowTombstone = AclBlocks.Tombstone(v0, _alice);
        Assert.Same(BlockUpdateResult.Updated, await client.UpdateBlockAsync(v1));
        Assert.Same(BlockUpdateResult.Updated, await client.UpdateBlockAsync(AclBlocks.Edit(v1, _alice, "v2"u8)));
        Assert.Equal(2, Assert.IsType<BlockUpdateResult.Conflict>(await client.UpdateBlockAsync(v1)).Current.Version);
        Assert.Equal(2, Assert.IsType<BlockUpdateResult.Conflict>(await client.UpdateBlockAsync(lowTombstone)).Current.Version);

        var stored = await client.ReadAclBlockAsync(address, _bob);
        Assert.Equal(2, stored!.Block.Version);
        Assert.False(stored.Block.Deleted);
        Assert.Equal("v2", Encoding.UTF8.GetString(stored.Data!));

        // The owner's tombstone at version 3 removes it for good.
        Assert.Same(BlockUpdateResult.Updated, await client.RemoveAclBlockAsync(address, _alice));
        var removed = await client.ReadAclBlockAsync(address, _alice);
        Assert.True(removed!.Block.Deleted);
        Assert.False(removed.Readable);
        await Assert.ThrowsAsync<ArgumentException>(() => client.WriteAclBlockAsync(address, _alice, "again"u8.ToArray()));
    }

    private static async Task AssertStatusAsync(GrpcStatusCode expected, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<GrpcException>(call);
        Assert.True(e.Status == expected, $"expected {expected}, got {e.Status}: {e.Message}");
    }

    // Every file of a node's data folder (the SQLite database and its WAL, which hold blocks and Raft state), read
    // while the node runs; LOCK, which the node holds exclusively and which holds nothing, is left out.
    private static byte[] SiloBytes(string directory)
    {
        using var all = new MemoryStream();
        foreach (var path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Where(p => Path.GetFileName(p) != "LOCK"))
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.CopyTo(all);
        }
        return all.ToArray();
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
