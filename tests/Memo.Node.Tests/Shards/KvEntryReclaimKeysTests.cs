using Google.Protobuf;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Protocol.Blocks;

namespace Memo.Node.Tests.Shards;

/// <summary>
/// The wire walk that lets an entry read skip the parse: checked against the parse itself on entries with and without
/// keys at both levels, and on every truncation and a corruption of each (where it must never say "none" for bytes that
/// parse to an entry with a key).
/// </summary>
public sealed class KvEntryReclaimKeysTests : IDisposable
{
    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();

    public void Dispose() => _owner.Dispose();

    private KvEntry Entry(ulong version, bool reclaimKey, bool inline = true)
    {
        var block = BlockFactory.MakeImmutable(Enumerable.Range(0, 300).Select(i => (byte)(i + (int)version)).ToArray(), _owner.PublicKey);
        return new KvEntry
        {
            Format = 1,
            ValueAddress = ByteString.CopyFrom(block.GetAddress().ToArray()),
            Version = version,
            ValueBlock = inline ? block : null,
            ReclaimKey = reclaimKey ? ByteString.CopyFrom(new byte[32]) : ByteString.Empty,
        };
    }

    public static TheoryData<bool, bool, bool, bool> Shapes()
    {
        var data = new TheoryData<bool, bool, bool, bool>();
        foreach (var ownKey in new[] { false, true })
        {
            foreach (var older in new[] { false, true })
            {
                foreach (var olderKey in new[] { false, true })
                {
                    foreach (var inline in new[] { false, true })
                    {
                        data.Add(ownKey, older, olderKey, inline);
                    }
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_walk_agrees_with_the_parse(bool ownKey, bool older, bool olderKey, bool inline)
    {
        var entry = Entry(3, ownKey, inline);
        if (older)
        {
            entry.OlderVersions.Add(Entry(2, reclaimKey: false, inline));
            entry.OlderVersions.Add(Entry(1, olderKey, inline));
        }

        Assert.Equal(ownKey || (older && olderKey), KvEntryReclaimKeys.MayHoldAny(entry.ToByteArray()));
    }

    [Fact]
    public void An_entry_without_keys_is_answered_none_and_an_empty_key_counts_as_none()
    {
        var entry = Entry(1, reclaimKey: false);

        Assert.False(KvEntryReclaimKeys.MayHoldAny(entry.ToByteArray()));
        Assert.False(KvEntryReclaimKeys.MayHoldAny([]));
        // proto3 writes no empty bytes field; a hand-made one with length 0 holds no key either.
        Assert.False(KvEntryReclaimKeys.MayHoldAny([.. entry.ToByteArray(), (KvEntry.ReclaimKeyFieldNumber << 3) | 2, 0]));
    }

    [Fact]
    public void Truncated_or_corrupted_bytes_answered_none_hold_no_key_for_the_parser()
    {
        var entry = Entry(2, reclaimKey: false);
        entry.OlderVersions.Add(Entry(1, reclaimKey: true));
        var bytes = entry.ToByteArray();
        var random = new Random(20261207);
        for (var length = 0; length <= bytes.Length; length++)
        {
            CheckNeverWronglyNone(bytes[..length]);
            var corrupted = bytes[..length];
            if (length > 0)
            {
                corrupted[random.Next(length)] ^= (byte)(1 << random.Next(8));
                CheckNeverWronglyNone(corrupted);
            }
        }
    }

    private static void CheckNeverWronglyNone(byte[] bytes)
    {
        if (KvEntryReclaimKeys.MayHoldAny(bytes))
        {
            return;
        }
        // "None" must mean: no key reaches whoever parses these bytes. Bytes the parser refuses reach nobody (a reader
        // that gets them fails its own parse, as it did when the server parsed first).
        KvEntry parsed;
        try
        {
            parsed = KvEntry.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            return;
        }
        Assert.True(parsed.ReclaimKey.IsEmpty && parsed.OlderVersions.All(o => o.ReclaimKey.IsEmpty),
            $"the walk answered none for {bytes.Length} bytes that hold a key");
    }
}
