namespace Memo.Cli.Bench;

/// <summary>A bench read found no value for a key the run wrote before it started: the store lost or never kept it.</summary>
internal sealed class MissingKeyException(string key) : Exception($"the store has no value for {key}, which the run wrote before measuring");
