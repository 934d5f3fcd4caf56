namespace Memo.Cli.Commands;

/// <summary>How <c>memo kv put</c> treats an existing or missing key.</summary>
internal enum PutMode
{
    /// <summary>Create the key or replace its value.</summary>
    Upsert,

    /// <summary>Create the key; fail with exit code 4 when it exists.</summary>
    Insert,

    /// <summary>Replace the value; fail with exit code 3 when the key is missing.</summary>
    Update,
}
