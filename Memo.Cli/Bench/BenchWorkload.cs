namespace Memo.Cli.Bench;

/// <summary>What each operation of a <c>memo bench kv</c> run is.</summary>
internal enum BenchWorkload
{
    /// <summary>Every operation writes a random key of the key space.</summary>
    Put,

    /// <summary>Every operation reads a random key; the key space is written first.</summary>
    Get,

    /// <summary>
    /// Each operation reads with probability <c>--read-ratio</c> and writes otherwise, over the same key space; the key
    /// space is written first, so every read finds a value.
    /// </summary>
    Mixed,
}
