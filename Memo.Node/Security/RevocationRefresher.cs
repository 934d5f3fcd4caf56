using Memo.Node.Kvs;
using Memo.Protocol.Users.Wire;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Security;

/// <summary>
/// Reads the network's revocation list (the entry at <see cref="NetworkAccess.RevocationKey"/>) every
/// <c>memo.security.revocation-refresh</c> into this node's <see cref="PassportRevocations"/>, so a passport revoked
/// through any node stops working here within that delay plus the list's replication. Owns its loop: disposing
/// cancels and awaits it.
/// </summary>
public sealed partial class RevocationRefresher : IAsyncDisposable
{
    private readonly KeyValueStore _store;
    private readonly PassportRevocations _revocations;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Creates the refresher; <see cref="Start"/> starts it.</summary>
    public RevocationRefresher(KeyValueStore store, PassportRevocations revocations, TimeSpan interval, TimeProvider clock, ILogger<RevocationRefresher> logger)
    {
        _store = store;
        _revocations = revocations;
        _interval = interval;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Starts the loop.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Reads the list once and merges it; false when it could not be read (the shard has no leader yet).</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        var read = await _store.FetchAsync(NetworkAccess.RevocationKey, version: 0, consistency: null, cancellationToken).ConfigureAwait(false);
        if (read.Status == KvStatus.NotFound)
        {
            return true;
        }
        if (read.Status != KvStatus.Ok || read.Value is null)
        {
            return false;
        }
        var list = RevocationList.Parser.ParseFrom(read.Value);
        _revocations.Add(list.PassportIds.Select(id => Convert.ToHexStringLower(id.Span)));
        return true;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The shard may have no leader yet (a starting cluster) or be moving: the next round tries again.
                LogRefreshFailed(_logger, e.Message);
            }
            try
            {
                await Task.Delay(_interval, _clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 2950, Level = LogLevel.Debug, Message = "Reading the revocation list failed ({Reason}); trying again next round")]
    private static partial void LogRefreshFailed(ILogger logger, string reason);
}
