using System.Text;
using Memo.Node.Storage.Policies;

namespace Memo.Node.Tests.Policies;

public sealed class RecordSealerTests
{
    private static readonly byte[] Context = "\u0002key/a"u8.ToArray();

    private static RecordSealer Sealer(ValueCompression compression, bool encrypt) =>
        new(new DataPolicies(compression, encrypt), encrypt ? DataKeyRing.Empty.WithNewKey() : null);

    public static TheoryData<ValueCompression, bool> Policies() => new()
    {
        { ValueCompression.Off, true },
        { ValueCompression.Zstd, false },
        { ValueCompression.Brotli, false },
        { ValueCompression.Zstd, true },
        { ValueCompression.Brotli, true },
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public void Sealed_records_open_to_the_same_bytes(ValueCompression compression, bool encrypt)
    {
        var sealer = Sealer(compression, encrypt);
        foreach (var record in new[] { Array.Empty<byte>(), "x"u8.ToArray(), Compressible(10_000), Incompressible(5_000) })
        {
            Assert.Equal(record, sealer.Open(sealer.Seal(record, Context), Context));
        }
    }

    [Theory]
    [InlineData(ValueCompression.Zstd)]
    [InlineData(ValueCompression.Brotli)]
    public void Compressible_records_are_stored_smaller_and_incompressible_ones_raw(ValueCompression compression)
    {
        var sealer = Sealer(compression, encrypt: false);
        var compressible = Compressible(8_192);
        var sealedText = sealer.Seal(compressible, Context);
        Assert.True(sealedText.Length < compressible.Length / 3, $"{compressible.Length} bytes of text sealed to {sealedText.Length}");
        Assert.Equal((byte)compression, sealedText[1]);

        var random = Incompressible(8_192);
        var sealedRandom = sealer.Seal(random, Context);
        // Raw: the two-byte frame header (version, flags 0), then the record itself.
        Assert.Equal(0, sealedRandom[1]);
        Assert.Equal(random, sealedRandom.AsSpan(2).ToArray());
    }

    [Fact]
    public void Encrypted_records_do_not_contain_their_plaintext()
    {
        var sealer = Sealer(ValueCompression.Off, encrypt: true);
        var record = Encoding.UTF8.GetBytes("plaintext-marker-" + new string('q', 100));
        var frame = sealer.Seal(record, Context);
        Assert.Equal(-1, frame.AsSpan().IndexOf("plaintext-marker"u8));
    }

    [Fact]
    public void A_frame_moved_to_another_record_or_altered_fails_to_open()
    {
        var sealer = Sealer(ValueCompression.Zstd, encrypt: true);
        var frame = sealer.Seal(Compressible(1_000), Context);
        Assert.Throws<InvalidDataException>(() => sealer.Open(frame, "\u0002key/b"u8));
        var altered = frame.ToArray();
        altered[^20] ^= 1;
        Assert.Throws<InvalidDataException>(() => sealer.Open(altered, Context));
        var otherCodec = frame.ToArray();
        otherCodec[1] = (byte)(0x80 | (int)ValueCompression.Brotli);
        Assert.Throws<InvalidDataException>(() => sealer.Open(otherCodec, Context));
    }

    [Fact]
    public void A_frame_sealed_by_another_node_fails_to_open()
    {
        var frame = Sealer(ValueCompression.Off, encrypt: true).Seal("value"u8, Context);
        var otherNode = Sealer(ValueCompression.Off, encrypt: true);
        // Same key number 1, another key: authentication fails.
        Assert.Throws<InvalidDataException>(() => otherNode.Open(frame, Context));
    }

    [Fact]
    public void A_sealer_reads_frames_written_under_other_policies()
    {
        var ring = DataKeyRing.Empty.WithNewKey();
        var writers = new[]
        {
            new RecordSealer(new DataPolicies(ValueCompression.Zstd, false), ring),
            new RecordSealer(new DataPolicies(ValueCompression.Brotli, true), ring),
        };
        var reader = new RecordSealer(new DataPolicies(ValueCompression.Off, true), ring);
        var record = Compressible(4_000);
        foreach (var writer in writers)
        {
            Assert.Equal(record, reader.Open(writer.Seal(record, Context), Context));
        }
    }

    internal static byte[] Compressible(int bytes)
    {
        var text = new StringBuilder();
        var random = new Random(7);
        string[] words = ["alpha", "beta", "gamma", "delta", "replica", "shard", "value", "{\"id\":", "\"name\":"];
        while (text.Length < bytes)
        {
            text.Append(words[random.Next(words.Length)]).Append(' ');
        }
        return Encoding.UTF8.GetBytes(text.ToString(0, bytes));
    }

    internal static byte[] Incompressible(int bytes)
    {
        var data = new byte[bytes];
        new Random(11).NextBytes(data);
        return data;
    }
}
