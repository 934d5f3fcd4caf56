using System.Buffers;
using System.Diagnostics;
using Google.Protobuf;
using Memo.Node.Api;
using Memo.Protocol.Blocks;
using Memo.Protocol.Kvs;
using Memo.Protocol.ValueStore;
using Memo.Testing;

namespace Memo.Benchmarks;

/// <summary>
/// The CPU a 1 MiB key-value write spends from its received bytes to its block's encoding, two ways: protobuf's parse,
/// the block over the value, <c>ToByteArray</c> (main before issue 11's parser), and <see cref="KvWriteRequestParser"/>
/// with <see cref="ImmutableBlockBuffer.EncodingOf"/>. The received bytes are a sequence of 4 KiB segments, as Kestrel's
/// pipes hold them. Single-threaded; the fastest of several rounds is printed, so a loaded machine blurs it less
/// (docs/performance.md, "Large values").
/// </summary>
internal static class LargeValueParseFigures
{
    public static void Run(int valueBytes = 1024 * 1024, int iterations = 400, int rounds = 7)
    {
        var value = new byte[valueBytes];
        new Random(1).NextBytes(value);
        var bytes = new UpsertRequest { Key = "bench/key", Value = ByteString.CopyFrom(value) }.ToByteArray();
        var received = SegmentedBytes.Of(bytes, 4096);
        var owner = MemoKeyPair.Generate().PublicKey;
        var salt = new byte[BlockLimits.SaltBytes];
        var parse = KvWriteRequestParser.For(UpsertRequest.Parser, (r, v) => r.Value = v, 4096);

        // Only the parse and the encoding differ between the two ways; the block's address (one SHA-256 of the value)
        // is the same work in both, so it is left out (a fixed address) to show the difference undiluted.
        var address = ByteString.CopyFrom(new byte[BlockAddress.Length]);
        byte[] Protobuf()
        {
            var request = UpsertRequest.Parser.ParseFrom(received);
            return Block(request.Value).ToByteArray();
        }
        byte[] Parser()
        {
            var request = parse(received);
            return ImmutableBlockBuffer.EncodingOf(Block(request.Value));
        }
        Block Block(ByteString data) => new()
        {
            Type = BlockKinds.ImmutableType, Address = address, Salt = ByteString.CopyFrom(salt), Owner = ByteString.CopyFrom(owner.Spki.Span), Data = data,
        };

        if (!Protobuf().AsSpan().SequenceEqual(Parser()))
        {
            throw new InvalidOperationException("The two ways encode different bytes.");
        }
        foreach (var (name, way) in new (string, Func<byte[]>)[] { ("protobuf parse + ToByteArray", Protobuf), ("KvWriteRequestParser + EncodingOf", Parser) })
        {
            var best = double.MaxValue;
            for (var round = 0; round < rounds; round++)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                for (var i = 0; i < iterations; i++)
                {
                    GC.KeepAlive(way());
                }
                best = Math.Min(best, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / iterations);
            }
            Console.WriteLine($"{valueBytes:N0}-byte value, {name,-36}: {best,8:N0} µs of CPU per request (best of {rounds} rounds of {iterations})");
        }
    }
}
