using Microsoft.Extensions.Logging;

namespace Memo.Node.Kvs;

public sealed partial class KeyValueStore
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Reclaiming replaced value block {Address} failed; it stays as garbage")]
    private partial void LogReclaimFailed(Exception exception, string address);
}
