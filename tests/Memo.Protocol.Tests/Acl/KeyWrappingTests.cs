using Memo.Protocol.Acl;
using Memo.Protocol.Blocks;

namespace Memo.Protocol.Tests.Acl;

public sealed class KeyWrappingTests : IDisposable
{
    private readonly MemoKeyPair _bob = MemoKeyPair.Generate();
    private readonly MemoKeyPair _eve = MemoKeyPair.Generate();

    public void Dispose()
    {
        _bob.Dispose();
        _eve.Dispose();
    }

    [Fact]
    public void A_wrapped_key_opens_with_the_recipients_private_key()
    {
        var secret = AclDataCipher.NewKey();
        var token = KeyWrapping.Wrap(_bob.PublicKey, secret);

        using var bob = KeyWrapping.AgreementKey(_bob);
        Assert.True(KeyWrapping.TryUnwrap(bob, token, out var opened));
        Assert.Equal(secret, opened);
        Assert.Equal(1 + 65 + 32 + 16, token.Length);
    }

    [Fact]
    public void Two_wraps_of_the_same_key_differ_and_both_open()
    {
        var secret = AclDataCipher.NewKey();
        var first = KeyWrapping.Wrap(_bob.PublicKey, secret);
        var second = KeyWrapping.Wrap(_bob.PublicKey, secret);

        Assert.NotEqual(first, second);
        using var bob = KeyWrapping.AgreementKey(_bob);
        Assert.True(KeyWrapping.TryUnwrap(bob, second, out var opened));
        Assert.Equal(secret, opened);
    }

    [Fact]
    public void A_wrapped_key_does_not_open_with_another_key()
    {
        var token = KeyWrapping.Wrap(_bob.PublicKey, AclDataCipher.NewKey());

        using var eve = KeyWrapping.AgreementKey(_eve);
        Assert.False(KeyWrapping.TryUnwrap(eve, token, out var opened));
        Assert.Null(opened);
    }

    [Theory]
    [InlineData(0)]   // format byte
    [InlineData(1)]   // point prefix
    [InlineData(10)]  // the ephemeral point (off the curve, or another point)
    [InlineData(70)]  // the wrapped key
    [InlineData(112)] // the tag
    public void A_tampered_token_does_not_open(int at)
    {
        var token = KeyWrapping.Wrap(_bob.PublicKey, AclDataCipher.NewKey());
        token[at] ^= 0x01;

        using var bob = KeyWrapping.AgreementKey(_bob);
        Assert.False(KeyWrapping.TryUnwrap(bob, token, out _));
    }

    [Fact]
    public void A_truncated_or_empty_token_does_not_open()
    {
        var token = KeyWrapping.Wrap(_bob.PublicKey, AclDataCipher.NewKey());

        using var bob = KeyWrapping.AgreementKey(_bob);
        Assert.False(KeyWrapping.TryUnwrap(bob, token.AsSpan(0, token.Length - 1), out _));
        Assert.False(KeyWrapping.TryUnwrap(bob, [], out _));
    }

    [Fact]
    public void Data_encrypted_for_one_version_opens_only_with_its_key_address_and_version()
    {
        var key = AclDataCipher.NewKey();
        var address = BlockAddresses.Mutable(_bob.PublicKey.Spki.Span, new byte[32]);
        var stored = AclDataCipher.Encrypt(key, address, 3, "secret"u8);

        Assert.True(AclDataCipher.TryDecrypt(key, address, 3, stored, out var plain));
        Assert.Equal("secret"u8.ToArray(), plain);
        Assert.False(AclDataCipher.TryDecrypt(AclDataCipher.NewKey(), address, 3, stored, out _));
        Assert.False(AclDataCipher.TryDecrypt(key, address, 4, stored, out _));
        Assert.False(AclDataCipher.TryDecrypt(key, BlockAddresses.Mutable(_eve.PublicKey.Spki.Span, new byte[32]), 3, stored, out _));
        stored[^20] ^= 0x01;
        Assert.False(AclDataCipher.TryDecrypt(key, address, 3, stored, out _));
    }
}
