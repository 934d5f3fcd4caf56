using System.Text;

namespace Memo.Benchmarks;

/// <summary>Representative values for the data-policy measurements, drawn from a seeded generator so runs compare.</summary>
internal static class PolicyData
{
    private static readonly string[] Words =
    [
        "the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with",
        "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what", "all",
        "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do", "how", "their",
        "replica", "shard", "leader", "storage", "network", "block", "value", "cluster", "memo", "key", "version",
    ];

    /// <summary>Prose-like text: words from a small vocabulary, sentences, line breaks.</summary>
    public static byte[] Text(int bytes, int seed)
    {
        var random = new Random(seed);
        var builder = new StringBuilder(bytes + 16);
        while (builder.Length < bytes)
        {
            builder.Append(Words[random.Next(Words.Length)]);
            builder.Append(random.Next(12) == 0 ? ".\n" : " ");
        }
        return Encoding.UTF8.GetBytes(builder.ToString(0, bytes));
    }

    /// <summary>JSON records as an application would store them: ids, names, timestamps, numbers, tags.</summary>
    public static byte[] Json(int bytes, int seed)
    {
        var random = new Random(seed);
        var builder = new StringBuilder(bytes + 256);
        builder.Append('[');
        while (builder.Length < bytes)
        {
            var id = random.Next(1_000_000);
            builder.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"{{\"id\":{id},\"name\":\"user-{id}\",\"email\":\"user{id}@example.com\",\"active\":{(random.Next(2) == 0 ? "true" : "false")}," +
                $"\"balance\":{random.Next(100_000) / 100.0},\"created\":\"2026-{1 + random.Next(12):00}-{1 + random.Next(28):00}T{random.Next(24):00}:{random.Next(60):00}:00Z\"," +
                $"\"tags\":[\"{Words[random.Next(Words.Length)]}\",\"{Words[random.Next(Words.Length)]}\"]}},");
        }
        var text = builder.ToString(0, bytes - 1) + "]";
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>Random bytes: incompressible (media, ciphertext, compressed files).</summary>
    public static byte[] Random(int bytes, int seed)
    {
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        return data;
    }
}
