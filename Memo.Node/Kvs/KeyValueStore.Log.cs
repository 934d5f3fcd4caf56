using Microsoft.Extensions.Logging;

namespace Memo.Node.Kvs;

public sealed partial class KeyValueStore
{
    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "A replica's copy of value block {Address} fails validation ({Reason}); reading the leader's copy")]
    private partial void LogBadNearbyBlock(string address, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "An async write of key '{Key}' was acknowledged at its leader's append but not seen committed ({Reason}); it may be lost")]
    private partial void LogAsyncWriteNotCommitted(string key, string reason);
}
