using System.Globalization;

namespace Memo.Cli.Bench;

/// <summary>The key space of a bench run: <c>bench/00000000</c>, <c>bench/00000001</c>, ... (the same for every target).</summary>
internal static class BenchKeys
{
    /// <summary>Largest key space a run may use.</summary>
    public const int MaxKeys = 10_000_000;

    /// <summary>The text of key <paramref name="index"/>.</summary>
    public static string Name(int index) => "bench/" + index.ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>The value every put writes: <paramref name="size"/> bytes from a seeded generator, so it does not compress away.</summary>
    public static byte[] Value(int size, int seed)
    {
        var value = new byte[size];
        new Random(seed).NextBytes(value);
        return value;
    }
}
