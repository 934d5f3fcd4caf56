using System.Security.Cryptography;
using Memo.Node.Storage.Policies;

namespace Memo.Node.Tests.Policies;

public sealed class DataKeyRingTests
{
    private static KeyEncryptionKey NewKek(string source) => KeyEncryptionKey.FromBytes(RandomNumberGenerator.GetBytes(KeyEncryptionKey.Length), source);

    [Fact]
    public void A_wrapped_ring_unwraps_with_its_kek_to_the_same_keys()
    {
        var kek = NewKek("kek");
        var ring = DataKeyRing.Empty.WithNewKey().WithNewKey();
        var unwrapped = DataKeyRing.Unwrap(ring.Wrap(kek), kek, null, out var needsRewrap);
        Assert.False(needsRewrap);
        Assert.Equal(2u, unwrapped.Current);
        Assert.Equal(ring.Keys.Keys, unwrapped.Keys.Keys);
        foreach (var (number, key) in ring.Keys)
        {
            Assert.Equal(key, unwrapped.Keys[number]);
        }
    }

    [Fact]
    public void A_wrong_kek_is_refused_with_a_message_naming_its_source_and_the_rotation()
    {
        var wrapped = DataKeyRing.Empty.WithNewKey().Wrap(NewKek("right"));
        var e = Assert.Throws<KeyEncryptionKeyException>(() => DataKeyRing.Unwrap(wrapped, NewKek("/etc/memo/wrong.kek"), null, out _));
        Assert.Contains("/etc/memo/wrong.kek", e.Message, StringComparison.Ordinal);
        Assert.Contains("previous-kek-file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ring_wrapped_with_the_previous_kek_opens_and_asks_to_be_rewrapped()
    {
        var previous = NewKek("old");
        var current = NewKek("new");
        var ring = DataKeyRing.Empty.WithNewKey();
        var opened = DataKeyRing.Unwrap(ring.Wrap(previous), current, previous, out var needsRewrap);
        Assert.True(needsRewrap);
        var rewrapped = opened.Wrap(current);
        DataKeyRing.Unwrap(rewrapped, current, null, out needsRewrap);
        Assert.False(needsRewrap);
        Assert.Throws<KeyEncryptionKeyException>(() => DataKeyRing.Unwrap(rewrapped, previous, null, out _));
    }

    [Fact]
    public void A_kek_file_holds_raw_bytes_or_base64_and_a_bad_one_is_refused()
    {
        var directory = Directory.CreateTempSubdirectory("memo-kek-");
        try
        {
            var raw = Path.Combine(directory.FullName, "raw");
            var bytes = RandomNumberGenerator.GetBytes(32);
            WriteOwnerOnly(raw, bytes);
            var text = Path.Combine(directory.FullName, "text");
            WriteOwnerOnly(text, System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(bytes) + "\n"));
            var ring = DataKeyRing.Empty.WithNewKey();
            var fromRaw = KeyEncryptionKey.Load(raw, "UNUSED", _ => null)!;
            var fromText = KeyEncryptionKey.Load(text, "UNUSED", _ => null)!;
            DataKeyRing.Unwrap(ring.Wrap(fromRaw), fromText, null, out _);

            var shortKey = Path.Combine(directory.FullName, "short");
            WriteOwnerOnly(shortKey, System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(new byte[16])));
            Assert.Contains("must have 32", Assert.Throws<KeyEncryptionKeyException>(() => KeyEncryptionKey.Load(shortKey, "UNUSED", _ => null)).Message, StringComparison.Ordinal);
            Assert.Throws<KeyEncryptionKeyException>(() => KeyEncryptionKey.Load(Path.Combine(directory.FullName, "missing"), "UNUSED", _ => null));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(raw, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
                Assert.Contains("chmod 600", Assert.Throws<KeyEncryptionKeyException>(() => KeyEncryptionKey.Load(raw, "UNUSED", _ => null)).Message, StringComparison.Ordinal);
            }
            Assert.Null(KeyEncryptionKey.Load("", "MEMO_KEK", _ => null));
            Assert.Equal("$MEMO_KEK", KeyEncryptionKey.Load("", "MEMO_KEK", _ => Convert.ToBase64String(bytes))!.Source);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    internal static void WriteOwnerOnly(string path, byte[] content)
    {
        File.WriteAllBytes(path, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
