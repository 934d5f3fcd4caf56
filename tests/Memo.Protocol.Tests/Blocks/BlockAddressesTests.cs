using System.Security.Cryptography;
using Memo.Protocol.Blocks;

namespace Memo.Protocol.Tests.Blocks;

public sealed class BlockAddressesTests
{
    private static readonly byte[] Salt = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void Immutable_addresses_are_deterministic_and_flagged_immutable()
    {
        using var pair = MemoKeyPair.Generate();
        var owner = pair.PublicKey.ToSpkiArray();
        var a = BlockAddresses.Immutable(Salt, owner, "data"u8);
        var b = BlockAddresses.Immutable(Salt, owner, "data"u8);

        Assert.Equal(a, b);
        Assert.True(a.IsImmutable);
        Assert.True(BlockAddresses.Immutable(Salt, [], "data"u8).IsImmutable);
    }

    [Fact]
    public void Mutable_and_named_addresses_are_deterministic_and_flagged_mutable()
    {
        using var pair = MemoKeyPair.Generate();
        var owner = pair.PublicKey.ToSpkiArray();

        Assert.Equal(BlockAddresses.Mutable(owner, Salt), BlockAddresses.Mutable(owner, Salt));
        Assert.False(BlockAddresses.Mutable(owner, Salt).IsImmutable);
        Assert.Equal(BlockAddresses.Named(owner, "root"u8), BlockAddresses.Named(pair.PublicKey, "root"u8));
        Assert.False(BlockAddresses.Named(owner, "root"u8).IsImmutable);
    }

    [Fact]
    public void Immutable_address_is_the_documented_hash()
    {
        using var pair = MemoKeyPair.Generate();
        var owner = pair.PublicKey.ToSpkiArray();
        byte[] preimage = [.. Salt, 0, 0, 0, (byte)owner.Length, .. owner, .. "data"u8];

        Assert.Equal(BlockAddress.FromDigest(SHA256.HashData(preimage), immutable: true), BlockAddresses.Immutable(Salt, owner, "data"u8));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    [InlineData(1921)] // with a P-256 owner (91 bytes), the largest data hashed from one stack buffer; then the smallest hashed incrementally
    [InlineData(1922)]
    [InlineData(2012)] // the same two sizes without an owner
    [InlineData(2013)]
    [InlineData(70_000)]
    public void Immutable_address_is_the_documented_hash_at_every_data_size(int size)
    {
        using var pair = MemoKeyPair.Generate();
        var owner = pair.PublicKey.ToSpkiArray();
        var data = Enumerable.Range(0, size).Select(i => (byte)(i * 7)).ToArray();
        byte[] preimage = [.. Salt, 0, 0, 0, (byte)owner.Length, .. owner, .. data];

        Assert.Equal(BlockAddress.FromDigest(SHA256.HashData(preimage), immutable: true), BlockAddresses.Immutable(Salt, owner, data));
        Assert.Equal(BlockAddress.FromDigest(SHA256.HashData([.. Salt, 0, 0, 0, 0, .. data]), immutable: true), BlockAddresses.Immutable(Salt, [], data));
    }

    [Fact]
    public void Mutable_and_named_addresses_are_the_documented_hashes()
    {
        using var pair = MemoKeyPair.Generate();
        var owner = pair.PublicKey.ToSpkiArray();

        Assert.Equal(BlockAddress.FromDigest(SHA256.HashData([.. owner, .. Salt]), immutable: false), BlockAddresses.Mutable(owner, Salt));
        Assert.Equal(
            BlockAddress.FromDigest(SHA256.HashData([.. "NB/"u8, .. owner, .. "/"u8, .. "root"u8]), immutable: false),
            BlockAddresses.Named(owner, "root"u8));
    }

    [Fact]
    public void Each_input_changes_the_address()
    {
        using var alice = MemoKeyPair.Generate();
        using var bob = MemoKeyPair.Generate();
        var a = alice.PublicKey.ToSpkiArray();
        var b = bob.PublicKey.ToSpkiArray();
        var otherSalt = (byte[])Salt.Clone();
        otherSalt[0] ^= 1;

        var chb = BlockAddresses.Immutable(Salt, a, "data"u8);
        Assert.NotEqual(chb, BlockAddresses.Immutable(otherSalt, a, "data"u8));
        Assert.NotEqual(chb, BlockAddresses.Immutable(Salt, b, "data"u8));
        Assert.NotEqual(chb, BlockAddresses.Immutable(Salt, a, "datb"u8));
        Assert.NotEqual(BlockAddresses.Mutable(a, Salt), BlockAddresses.Mutable(b, Salt));
        Assert.NotEqual(BlockAddresses.Mutable(a, Salt), BlockAddresses.Mutable(a, otherSalt));
        Assert.NotEqual(BlockAddresses.Named(a, "x"u8), BlockAddresses.Named(b, "x"u8));
        Assert.NotEqual(BlockAddresses.Named(a, "x"u8), BlockAddresses.Named(a, "y"u8));
    }

    [Fact]
    public void Ownerless_block_whose_data_starts_with_a_key_does_not_share_the_owned_blocks_address()
    {
        using var pair = MemoKeyPair.Generate();
        var owner = pair.PublicKey.ToSpkiArray();

        Assert.NotEqual(BlockAddresses.Immutable(Salt, owner, "data"u8), BlockAddresses.Immutable(Salt, [], [.. owner, .. "data"u8]));
    }
}
