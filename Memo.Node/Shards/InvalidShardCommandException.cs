namespace Memo.Node.Shards;

/// <summary>A command that cannot be applied at all (unknown kind, missing address): a bug in the proposer, not user input.</summary>
public sealed class InvalidShardCommandException(string message) : Exception(message);
