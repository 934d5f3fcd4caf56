using Google.Protobuf;
using Memo.Node.Blocks;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.ValueStore;
using Memo.Testing;

namespace Memo.Node.Tests.Api;

/// <summary>
/// Kept versions of mutable blocks through <c>memo.vs</c> on a node that keeps 3 (<c>memo.network.versions</c>): Fetch
/// with a version, ListVersions, versions beyond 3 gone from the silo, and a delete taking every version with it.
/// </summary>
public sealed class BlockVersionsTests : IAsyncLifetime
{
    private TestNode _node = null!;
    private MemoClient _client = null!;

    public async Task InitializeAsync()
    {
        _node = await TestNode.StartAsync(["memo.network.versions = 3"]);
        _client = _node.Client();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _node.DisposeAsync();
    }

    // Writes versions 1..count after the inserted version 0 (the node signs the blocks it owns).
    internal static async Task UpdateAsync(MemoClient client, BlockAddress address, int count)
    {
        for (var v = 1; v <= count; v++)
        {
            var next = (await client.FetchBlockAsync(address))!.Clone();
            next.Version++;
            next.Data = ByteString.CopyFromUtf8($"version {next.Version}");
            next.Signature = ByteString.Empty;
            Assert.Equal(BlockUpdateResult.Updated, await client.UpdateBlockAsync(next));
        }
    }

    [Fact]
    public async Task The_last_3_versions_of_a_mutable_block_are_fetchable_and_older_ones_are_gone()
    {
        var address = await _client.InsertMutableBlockAsync(ByteString.CopyFromUtf8("version 0").ToByteArray());
        await UpdateAsync(_client, address, 4);

        Assert.Equal([4L, 3L, 2L], await _client.ListBlockVersionsAsync(address));
        foreach (var version in new long[] { 4, 3, 2 })
        {
            var block = await _client.FetchBlockAsync(address, version);
            Assert.Equal($"version {version}", block!.Data.ToStringUtf8());
            Assert.True(BlockValidator.ValidateAt(block, address).IsValid);
        }
        Assert.Null(await _client.FetchBlockAsync(address, 1));
        Assert.Null(await _client.FetchBlockAsync(address, 5));
        var silo = _node.Node.Shards.Silo;
        Assert.Null(await silo.ReadBlockAsync(BlockVersions.AddressOf(address, 1)));
        Assert.Null(await silo.ReadBlockAsync(BlockVersions.AddressOf(address, 0)));
        Assert.NotNull(await silo.ReadBlockAsync(BlockVersions.AddressOf(address, 2)));

        Assert.True(await _client.DeleteBlockAsync(address));
        Assert.Null(await _client.ListBlockVersionsAsync(address));
        Assert.Null(await _client.FetchBlockAsync(address, 3));
        Assert.Null(await silo.ReadBlockAsync(BlockVersions.AddressOf(address, 3)));
        Assert.Null(await silo.ReadBlockAsync(BlockVersions.AddressOf(address, 2)));
    }

    [Fact]
    public async Task Versions_of_an_immutable_block_are_an_invalid_argument()
    {
        var address = await _client.InsertImmutableBlockAsync("immutable"u8.ToArray());
        var error = await Assert.ThrowsAsync<GrpcException>(() => _client.ListBlockVersionsAsync(address));
        Assert.Equal(GrpcStatusCode.InvalidArgument, error.Status);
        error = await Assert.ThrowsAsync<GrpcException>(() => _client.FetchBlockAsync(address, 0));
        Assert.Equal(GrpcStatusCode.InvalidArgument, error.Status);
    }
}
