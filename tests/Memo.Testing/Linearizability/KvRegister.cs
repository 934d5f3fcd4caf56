namespace Memo.Testing.Linearizability;

/// <summary>
/// The sequential specification of one key: a register holding a value or nothing. Generic over the value
/// representation so the search can run on interned ints and reports can replay on strings.
/// </summary>
internal static class KvRegister
{
    /// <summary>
    /// Applies <paramref name="kind"/> to a register whose presence is <paramref name="present"/>.
    /// </summary>
    /// <returns>Whether the operation's precondition holds (a Read always "applies"); when it does not, the register is
    /// unchanged.</returns>
    public static bool Applies(KvOperationKind kind, bool present) => kind switch
    {
        KvOperationKind.Read or KvOperationKind.Upsert => true,
        KvOperationKind.Insert => !present,
        KvOperationKind.Update or KvOperationKind.Delete => present,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown operation kind"),
    };

    /// <summary>The register's value after an applied <paramref name="kind"/> with <paramref name="input"/>.</summary>
    public static T After<T>(KvOperationKind kind, T current, T input, T absent) => kind switch
    {
        KvOperationKind.Read => current,
        KvOperationKind.Delete => absent,
        _ => input,
    };
}
