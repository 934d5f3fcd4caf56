namespace Memo.Testing.PowerLoss;

/// <summary>What the disk keeps of the writes it had not synced when the power went.</summary>
public enum PowerLossMode
{
    /// <summary>Nothing: every file is back at its last synced image.</summary>
    DropUnsynced,

    /// <summary>
    /// A random prefix of each file's unsynced writes (in write order), and the next write torn at a random byte: a
    /// disk cut off in the middle of writing.
    /// </summary>
    TearUnsynced,
}
