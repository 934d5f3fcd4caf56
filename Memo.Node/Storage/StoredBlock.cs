namespace Memo.Node.Storage;

/// <summary>
/// What the silo holds for a block address: its bytes (<see cref="Data"/>), or the id and length of the copy file
/// holding them (<see cref="FileId"/> above 0), or nothing (the default).
/// </summary>
internal readonly record struct StoredBlock(byte[]? Data, long FileId, long FileLength)
{
    /// <summary>True when the bytes are in a copy file.</summary>
    public bool InFile => FileId > 0;
}
