using Microsoft.Extensions.Logging;

namespace Memo.Node.Storage;

/// <summary>Log events of <see cref="SqliteSilo"/> (event ids 1–19).</summary>
public sealed partial class SqliteSilo
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information,
            Message = "Opened silo {FilePath} (schema version {Version}, created now: {Created}, synchronous {Synchronous}, {ReadConnections} read connections, SQLite {Library})")]
        public static partial void Opened(ILogger logger, string filePath, int version, bool created, SqliteSynchronousMode synchronous, int readConnections, string library);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Closed silo {FilePath} after {Transactions} transactions")]
        public static partial void Closed(ILogger logger, string filePath, long transactions);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
            Message = "A batch of {Operations} operations failed in silo {FilePath} and was rolled back; the rest of its group still commits")]
        public static partial void BatchFailed(ILogger logger, string filePath, int operations, Exception exception);

        [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Committing {Batches} batches failed in silo {FilePath}")]
        public static partial void CommitFailed(ILogger logger, string filePath, int batches, Exception exception);

        [LoggerMessage(EventId = 5, Level = LogLevel.Warning,
            Message = "SQLite aborted the transaction in silo {FilePath}; re-applying the group's other {Batches} batches in a new one")]
        public static partial void TransactionAborted(ILogger logger, string filePath, int batches);

        [LoggerMessage(EventId = 6, Level = LogLevel.Critical,
            Message = "The writer of silo {FilePath} stopped after an unexpected error; every commit fails from now on")]
        public static partial void WriterFailed(ILogger logger, string filePath, Exception exception);

        [LoggerMessage(EventId = 7, Level = LogLevel.Information,
            Message = "Swept the copy files of {Folder}: {Kept} named by their rows kept, {Removed} that no row names removed, {Foreign} left alone (other names, or not removable)")]
        public static partial void CopyFilesSwept(ILogger logger, string folder, long kept, long removed, long foreign);

        [LoggerMessage(EventId = 8, Level = LogLevel.Warning,
            Message = "Could not remove the copy file {Path}, which no row names any more; the sweep at the next open removes it")]
        public static partial void CopyFileNotRemoved(ILogger logger, string path, Exception exception);
    }
}
