using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing.Linearizability;
using Memo.Testing.Nemesis;

namespace Memo.Node.Tests.Nemesis;

/// <summary>
/// Clients that record a key-value history through the nodes' public API while the nemesis runs. Each call has a
/// deadline. A read retries on other nodes within one recorded operation (it has no effect, so its one result
/// linearizes wherever it was served). A write is one recorded operation per attempt: an upsert that failed is
/// retried as a new operation with the same value, because an attempt whose outcome is unknown may still take effect
/// later, even after a retry succeeded and other writes followed (one operation would then have two effects); inserts
/// and deletes are not retried. An attempt refused at connect (the node is down: nothing was sent) is recorded as
/// failed; any other error leaves its outcome unknown, as Jepsen records an indeterminate operation. Keys rotate every <see cref="KeyGeneration"/>, so each key's
/// history, and the checker's search, stays bounded however long the run.
/// </summary>
public sealed class NemesisWorkload
{
    /// <summary>Keys in use at a time.</summary>
    public const int KeysPerGeneration = 3;

    /// <summary>How long a set of keys is in use.</summary>
    public static readonly TimeSpan KeyGeneration = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan OperationDeadline = TimeSpan.FromSeconds(4);

    private readonly MemoClient[] _clients;
    private readonly int _readPercent;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentDictionary<string, byte> _keys = new(StringComparer.Ordinal);

    /// <summary>Creates the workload over one client per node.</summary>
    /// <param name="clients">One client per node, by node index.</param>
    /// <param name="readPercent">Share of reads in the mix (the rest: upserts, inserts, deletes in 3:1:1).</param>
    public NemesisWorkload(MemoClient[] clients, int readPercent = 50)
    {
        _clients = clients;
        _readPercent = readPercent;
    }

    /// <summary>The recorded history.</summary>
    public HistoryRecorder History { get; } = new();

    /// <summary>Every key a client used.</summary>
    public IReadOnlyCollection<string> Keys => _keys.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Runs client <paramref name="clientId"/> until <paramref name="stop"/>.</summary>
    public async Task RunClientAsync(int clientId, int seed, CancellationToken stop)
    {
        var random = new Random(seed);
        var home = clientId % _clients.Length;
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            var key = $"g{(long)(_clock.Elapsed / KeyGeneration)}-{random.Next(KeysPerGeneration)}";
            _keys.TryAdd(key, 0);
            var node = random.Next(4) == 0 ? random.Next(_clients.Length) : home;
            var roll = random.Next(100);
            var writeRoll = random.Next(5);
            var kind = roll < _readPercent ? KvOperationKind.Read : writeRoll < 3 ? KvOperationKind.Upsert : writeRoll < 4 ? KvOperationKind.Insert : KvOperationKind.Delete;
            var value = $"c{clientId}-{n++}";
            var bytes = Encoding.UTF8.GetBytes(value);
            var succeeded = kind switch
            {
                KvOperationKind.Read => await ReadAsync(clientId, key, node).ConfigureAwait(false),
                KvOperationKind.Upsert => await UpsertAsync(clientId, key, value, node).ConfigureAwait(false),
                KvOperationKind.Insert => await AttemptAsync(History.Invoke(clientId, key, kind, value), node,
                    async (c, id) => History.Ok(id, applied: await c.InsertAsync(key, bytes).ConfigureAwait(false))).ConfigureAwait(false),
                _ => await AttemptAsync(History.Invoke(clientId, key, kind, null), node,
                    async (c, id) => History.Ok(id, applied: await c.DeleteAsync(key).ConfigureAwait(false))).ConfigureAwait(false),
            };
            if (!succeeded)
            {
                // Do not spin against a dead or cut-off node: a client that fails waits a little, as a real one would.
                await Task.Delay(random.Next(20, 100), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads <paramref name="key"/> through node <paramref name="node"/> into the history as client
    /// <paramref name="clientId"/>, retrying until <paramref name="timeout"/>; false when no read succeeded.</summary>
    public async Task<bool> FinalReadAsync(int clientId, string key, int node, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var id = History.Invoke(clientId, key, KvOperationKind.Read, null);
            try
            {
                var read = await _clients[node].FetchAsync(key).ConfigureAwait(false);
                History.Ok(id, read is null ? null : Encoding.UTF8.GetString(read));
                return true;
            }
            catch (GrpcException)
            {
                History.Fail(id);
                if (DateTime.UtcNow > deadline)
                {
                    return false;
                }
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    // A read: one recorded operation, tried on `node` then the next nodes until the deadline; a read that never
    // succeeded had no effect and is recorded failed.
    private async Task<bool> ReadAsync(int clientId, string key, int node)
    {
        var id = History.Invoke(clientId, key, KvOperationKind.Read, null);
        var deadline = DateTime.UtcNow + OperationDeadline;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var read = await _clients[(node + attempt) % _clients.Length].FetchAsync(key).ConfigureAwait(false);
                History.Ok(id, read is null ? null : Encoding.UTF8.GetString(read));
                return true;
            }
            catch (GrpcException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
            catch (GrpcException)
            {
                History.Fail(id);
                return false;
            }
        }
    }

    // An upsert: each attempt its own recorded operation with the same value, on `node` then the next nodes until the
    // deadline.
    private async Task<bool> UpsertAsync(int clientId, string key, string value, int node)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var deadline = DateTime.UtcNow + OperationDeadline;
        for (var attempt = 0; ; attempt++)
        {
            var id = History.Invoke(clientId, key, KvOperationKind.Upsert, value);
            if (await AttemptAsync(id, (node + attempt) % _clients.Length, async (c, op) =>
                {
                    await c.UpsertAsync(key, bytes).ConfigureAwait(false);
                    History.Ok(op);
                }).ConfigureAwait(false))
            {
                return true;
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    // One attempt of a write on `node`. The call records Ok itself; refused at connect is failed; anything else stays
    // unknown.
    private async Task<bool> AttemptAsync(int id, int node, Func<MemoClient, int, Task> call)
    {
        try
        {
            await call(_clients[node], id).ConfigureAwait(false);
            return true;
        }
        catch (GrpcException e)
        {
            if (RefusedAtConnect(e))
            {
                History.Fail(id);
            }
            return false;
        }
    }

    private static bool RefusedAtConnect(GrpcException e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                return true;
            }
        }
        return false;
    }
}
