namespace Memo.Cli.Bench;

/// <summary>
/// One store under load. Keys are indices into a key space fixed at construction, and every put writes the same
/// value, so the per-operation work is the call itself: request encoding, the round trip, response decoding.
/// </summary>
internal interface IKvBenchTarget
{
    /// <summary>Writes key <paramref name="key"/>; throws when the store refuses or cannot be reached.</summary>
    Task PutAsync(int key, CancellationToken cancellationToken);

    /// <summary>Reads key <paramref name="key"/>; false when the store has no such key.</summary>
    Task<bool> GetAsync(int key, CancellationToken cancellationToken);
}
