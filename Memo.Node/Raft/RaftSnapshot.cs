namespace Memo.Node.Raft;

/// <summary>What a snapshot covers: the last included entry and the configuration in force at that entry.</summary>
public sealed record SnapshotMetadata(LogIndex Index, Term Term, RaftMembership Membership)
{
    /// <summary>The metadata of "no snapshot yet": index and term zero, no members.</summary>
    public static SnapshotMetadata Empty { get; } = new(LogIndex.Zero, Term.Zero, RaftMembership.Empty);

    /// <inheritdoc />
    public override string ToString() => $"index={Index} term={Term} {Membership}";
}

/// <summary>
/// A state-machine snapshot: the application's state after applying every entry up to
/// <see cref="SnapshotMetadata.Index"/>, opaque to the core.
/// </summary>
public sealed record RaftSnapshot(SnapshotMetadata Metadata, byte[] Data)
{
    /// <summary>The empty snapshot of a fresh group with the given initial configuration (index 0).</summary>
    public static RaftSnapshot Bootstrap(RaftMembership membership) => new(new SnapshotMetadata(LogIndex.Zero, Term.Zero, membership), []);

    /// <summary>The last entry the snapshot covers.</summary>
    public LogIndex Index => Metadata.Index;

    /// <summary>The term of the last entry the snapshot covers.</summary>
    public Term Term => Metadata.Term;
}
