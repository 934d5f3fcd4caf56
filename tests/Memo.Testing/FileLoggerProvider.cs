using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Memo.Testing;

/// <summary>
/// Writes one in-process node's log to a file, one line per entry with a UTC timestamp. In-process clusters use it
/// when <c>MEMO_TEST_LOGS</c> names a folder: a timed-out phase shows only the final state, and the node's own account
/// of elections and group changes is what explains it.
/// </summary>
public sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();

    /// <summary>Appends to <paramref name="path"/>, creating it and its folder.</summary>
    public FileLoggerProvider(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    /// <summary>A factory logging at <paramref name="level"/> and above to <paramref name="path"/>.</summary>
    public static ILoggerFactory CreateFactory(string path, LogLevel level = LogLevel.Information)
    {
        var factory = new LoggerFactory([new FileLoggerProvider(path)], new LoggerFilterOptions { MinLevel = level });
        return factory;
    }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _writer.Dispose();
        }
    }

    private void Write(string line)
    {
        lock (_gate)
        {
            try
            {
                _writer.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // A node still logging while its cluster is disposed: the file is closed, the line is not needed.
            }
        }
    }

    private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel.ToString()[..4]} {eventId.Id} {category}: {formatter(state, exception)}");
            owner.Write(exception is null ? line : line + Environment.NewLine + exception);
        }
    }
}
