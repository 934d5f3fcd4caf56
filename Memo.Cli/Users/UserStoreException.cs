namespace Memo.Cli.Users;

/// <summary>A user, key or passport the CLI's config folder does not have or cannot read; the message says which file and what to do.</summary>
internal sealed class UserStoreException(string message, Exception? inner = null) : Exception(message, inner);
