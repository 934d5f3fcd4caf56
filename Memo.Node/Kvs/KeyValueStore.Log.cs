using Microsoft.Extensions.Logging;

namespace Memo.Node.Kvs;

public sealed partial class KeyValueStore
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Critical, Message = "The value block {Address} of key {Key} failed to commit after its entry did; the key is restored to its previous value")]
    private partial void LogBlockLostAfterEntry(Exception exception, string address, string key);
}
