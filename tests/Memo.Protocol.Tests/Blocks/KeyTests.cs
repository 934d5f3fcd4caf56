using System.Security.Cryptography;
using Memo.Protocol.Blocks;

namespace Memo.Protocol.Tests.Blocks;

public sealed class KeyTests
{
    [Fact]
    public void Generated_key_signs_and_its_public_key_verifies()
    {
        using var pair = MemoKeyPair.Generate();
        var message = "hello"u8.ToArray();
        var signature = pair.Sign(message);

        Assert.Equal(BlockLimits.SignatureBytes, signature.Length);
        Assert.True(pair.PublicKey.Verify(message, signature));
        Assert.False(pair.PublicKey.Verify("hellp"u8, signature));
    }

    [Fact]
    public void Signature_by_another_key_does_not_verify()
    {
        using var alice = MemoKeyPair.Generate();
        using var bob = MemoKeyPair.Generate();
        var signature = bob.Sign("data"u8);

        Assert.False(alice.PublicKey.Verify("data"u8, signature));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    [InlineData(72)]
    public void Verify_returns_false_for_signatures_of_the_wrong_length(int length)
    {
        using var pair = MemoKeyPair.Generate();
        Assert.False(pair.PublicKey.Verify("data"u8, new byte[length]));
    }

    [Fact]
    public void Verify_returns_false_for_garbage_signatures_without_throwing()
    {
        using var pair = MemoKeyPair.Generate();
        Assert.False(pair.PublicKey.Verify("data"u8, new byte[64]));
        Assert.False(pair.PublicKey.Verify("data"u8, Enumerable.Repeat((byte)0xFF, 64).ToArray()));
        Assert.False(pair.PublicKey.Verify("data"u8, RandomNumberGenerator.GetBytes(64)));
    }

    [Fact]
    public void Digest_signatures_match_data_signatures()
    {
        using var pair = MemoKeyPair.Generate();
        var message = RandomNumberGenerator.GetBytes(1000);
        var digest = SHA256.HashData(message);

        Assert.True(pair.PublicKey.Verify(message, pair.SignDigest(digest)));
        Assert.True(pair.PublicKey.VerifyDigest(digest, pair.Sign(message)));
        Assert.False(pair.PublicKey.VerifyDigest(digest.AsSpan(0, 31), pair.Sign(message)));
    }

    [Fact]
    public void Pkcs8_round_trip_keeps_the_key()
    {
        using var pair = MemoKeyPair.Generate();
        using var restored = MemoKeyPair.FromPkcs8(pair.ExportPkcs8());

        Assert.Equal(pair.PublicKey, restored.PublicKey);
        Assert.True(pair.PublicKey.Verify("x"u8, restored.Sign("x"u8)));
    }

    [Fact]
    public void Pkcs8_import_rejects_garbage_other_curves_and_trailing_bytes()
    {
        Assert.Throws<FormatException>(() => MemoKeyPair.FromPkcs8([]));
        Assert.Throws<FormatException>(() => MemoKeyPair.FromPkcs8(RandomNumberGenerator.GetBytes(138)));
        using (var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384))
        {
            Assert.Throws<FormatException>(() => MemoKeyPair.FromPkcs8(p384.ExportPkcs8PrivateKey()));
        }
        using (var rsa = RSA.Create(2048))
        {
            Assert.Throws<FormatException>(() => MemoKeyPair.FromPkcs8(rsa.ExportPkcs8PrivateKey()));
        }
        using var pair = MemoKeyPair.Generate();
        Assert.Throws<FormatException>(() => MemoKeyPair.FromPkcs8([.. pair.ExportPkcs8(), 0]));
    }

    [Fact]
    public void Spki_round_trip_gives_an_equal_key()
    {
        using var pair = MemoKeyPair.Generate();
        var spki = pair.PublicKey.ToSpkiArray();

        Assert.Equal(BlockLimits.PublicKeyBytes, spki.Length);
        Assert.True(MemoPublicKey.TryFromSpki(spki, out var key));
        Assert.Equal(pair.PublicKey, key);
        Assert.Equal(pair.PublicKey.GetHashCode(), key!.GetHashCode());
        Assert.True(key.Verify("m"u8, pair.Sign("m"u8)));
    }

    [Fact]
    public void Repeated_imports_of_a_key_give_equal_keys_that_verify_concurrently()
    {
        using var pair = MemoKeyPair.Generate();
        var spki = pair.PublicKey.ToSpkiArray();
        var signature = pair.Sign("m"u8);

        var results = new bool[200];
        Parallel.For(0, results.Length, i =>
            results[i] = MemoPublicKey.TryFromSpki(spki, out var key) && key.Equals(pair.PublicKey) && key.Verify("m"u8, signature));

        Assert.All(results, Assert.True);
    }

    [Fact]
    public void Different_keys_are_not_equal()
    {
        using var a = MemoKeyPair.Generate();
        using var b = MemoKeyPair.Generate();
        Assert.NotEqual(a.PublicKey, b.PublicKey);
    }

    [Fact]
    public void Spki_import_rejects_garbage()
    {
        Assert.False(MemoPublicKey.TryFromSpki([], out _));
        Assert.False(MemoPublicKey.TryFromSpki(RandomNumberGenerator.GetBytes(BlockLimits.PublicKeyBytes), out _));
        Assert.False(MemoPublicKey.TryFromSpki(new byte[BlockLimits.PublicKeyBytes], out _));
        Assert.Throws<FormatException>(() => MemoPublicKey.FromSpki(new byte[10]));
    }

    [Fact]
    public void Spki_import_rejects_other_curves_and_algorithms()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var p521 = ECDsa.Create(ECCurve.NamedCurves.nistP521);
        using var rsa = RSA.Create(2048);

        Assert.False(MemoPublicKey.TryFromSpki(p384.ExportSubjectPublicKeyInfo(), out _));
        Assert.False(MemoPublicKey.TryFromSpki(p521.ExportSubjectPublicKeyInfo(), out _));
        Assert.False(MemoPublicKey.TryFromSpki(rsa.ExportSubjectPublicKeyInfo(), out _));
    }

    [Fact]
    public void Spki_import_rejects_trailing_bytes_and_truncation()
    {
        using var pair = MemoKeyPair.Generate();
        var spki = pair.PublicKey.ToSpkiArray();

        Assert.False(MemoPublicKey.TryFromSpki([.. spki, 0], out _));
        Assert.False(MemoPublicKey.TryFromSpki(spki.AsSpan(0, spki.Length - 1), out _));
    }

    [Fact]
    public void Spki_import_rejects_a_point_off_the_curve()
    {
        using var pair = MemoKeyPair.Generate();
        var spki = pair.PublicKey.ToSpkiArray();
        spki[^1] ^= 1; // changes y: (x, y ^ 1) is not on the curve when (x, y) is

        Assert.False(MemoPublicKey.TryFromSpki(spki, out _));
    }

    [Fact]
    public void Spki_import_rejects_a_compressed_point()
    {
        using var pair = MemoKeyPair.Generate();
        var spki = pair.PublicKey.ToSpkiArray();
        // Same key, compressed form: header with a 34-byte BIT STRING, then 02|03 ‖ x.
        var x = spki.AsSpan(spki.Length - 64, 32);
        var yOdd = (spki[^1] & 1) == 1;
        byte[] header = [0x30, 0x39, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
            0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x22, 0x00];
        byte[] compressed = [.. header, yOdd ? (byte)3 : (byte)2, .. x];

        Assert.False(MemoPublicKey.TryFromSpki(compressed, out _));
    }

    [Fact]
    public void Disposed_key_pair_refuses_to_sign()
    {
        var pair = MemoKeyPair.Generate();
        pair.Dispose();
        pair.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pair.Sign("x"u8));
    }

    [Fact]
    public void Concurrent_verification_with_one_key_is_correct()
    {
        using var pair = MemoKeyPair.Generate();
        var message = "shared"u8.ToArray();
        var good = pair.Sign(message);
        var bad = (byte[])good.Clone();
        bad[10] ^= 0x40;

        var results = new bool[400];
        Parallel.For(0, results.Length, i =>
            results[i] = pair.PublicKey.Verify(message, i % 2 == 0 ? good : bad) == (i % 2 == 0));

        Assert.All(results, Assert.True);
    }
}
