namespace Memo.Node.Hosting;

/// <summary>Another process holds the data folder's lock.</summary>
public sealed class DataFolderInUseException(string message, Exception inner) : Exception(message, inner);
