namespace Memo.Testing.Linearizability;

/// <summary>
/// The key-value operations the checker models. Each key is a register holding a <c>string?</c> (null = absent):
/// Read returns it; Upsert sets it unconditionally; Insert applies only when the key is absent; Update and Delete
/// apply only when the key is present (Delete sets it back to absent).
/// </summary>
public enum KvOperationKind
{
    /// <summary>Returns the current value (null when absent). Never changes state.</summary>
    Read,

    /// <summary>Sets the value; always applied.</summary>
    Upsert,

    /// <summary>Sets the value if the key is absent; otherwise rejected (ALREADY_EXISTS) and nothing changes.</summary>
    Insert,

    /// <summary>Sets the value if the key is present; otherwise rejected (NOT_FOUND) and nothing changes.</summary>
    Update,

    /// <summary>Removes the value if the key is present; otherwise rejected (NOT_FOUND).</summary>
    Delete,
}
