namespace Memo.Node.Raft;

/// <summary>
/// One entry of the replicated log. Plain data: the core never looks inside <see cref="Data"/> except for
/// <see cref="RaftEntryKind.ConfigChange"/> entries. Callers must not mutate <see cref="Data"/> once handed over.
/// </summary>
public sealed record RaftEntry(LogIndex Index, Term Term, RaftEntryKind Kind, byte[] Data)
{
    /// <summary>Fixed per-entry overhead counted in byte limits on top of the payload.</summary>
    public const int OverheadBytes = 24;

    /// <summary>The size counted against byte limits (payload plus a fixed overhead).</summary>
    public long SizeBytes => Data.Length + OverheadBytes;

    /// <inheritdoc />
    public override string ToString() => $"{Term}/{Index} {(Kind == RaftEntryKind.ConfigChange ? "conf:" + ConfigChange.Decode(Data) : Describe(Data))}";

    private static string Describe(byte[] data)
    {
        if (data.Length == 0)
        {
            return "EntryNormal \"\"";
        }

        foreach (var b in data)
        {
            if (b < 0x20 || b > 0x7e)
            {
                return $"EntryNormal {data.Length}B";
            }
        }

        return $"EntryNormal \"{System.Text.Encoding.ASCII.GetString(data)}\"";
    }
}
