using Memo.Node.Shards.Wire;

namespace Memo.Node.Shards.Forwarding;

/// <summary>
/// The receiving side of block copies sent in parts (<see cref="CopyPart"/>): puts each transfer's parts together in
/// one array of the copy's size, handed whole to the <see cref="StoreCopyRequest"/> that ends the transfer.
/// </summary>
/// <remarks>
/// <para>Why parts (docs/performance.md, "Large values"): a 1 MiB copy sent whole was a large-object-heap array at
/// every layer it crossed, about nine times per copy between the two nodes (the forwarding envelope, the peer batch,
/// Akka's payload and frame on the way out; Akka's frame and payload, the batch, the envelope and the silo's array on
/// the way in). Parts keep every one of those under the large-object threshold; this array is the only one left,
/// and the silo stores it as it is.</para>
/// <para>Parts travel one-way and in order on one peer link, so a transfer's parts arrive in offset order; a part
/// out of order means one was lost (a full queue, a broken connection), and the transfer is dropped at once. The
/// request that ends a transfer finds it incomplete or gone and is answered DROPPED; the sender retries with a new
/// transfer, as after any missing answer. Bounds: a transfer is at most <see cref="MaxCopyBytes"/>; transfers in
/// progress hold at most <see cref="MaxAssemblingBytes"/> together (a new one beyond it is refused); one idle for
/// <see cref="IdleLimitMs"/> is evicted when the next transfer starts (its sender stopped waiting long ago).</para>
/// <para>Thread-safe; time is the caller's (milliseconds of a monotonic clock), so the rules are testable without one.</para>
/// </remarks>
public sealed class CopyPartAssembler
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(NodeId From, ulong Transfer), Transfer> _transfers = [];
    private long _assemblingBytes;
    private long _refused;

    /// <summary>Creates an assembler with its bounds.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not positive, or one copy could never fit.</exception>
    public CopyPartAssembler(int maxCopyBytes, long maxAssemblingBytes, long idleLimitMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCopyBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAssemblingBytes, maxCopyBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(idleLimitMs, 1);
        MaxCopyBytes = maxCopyBytes;
        MaxAssemblingBytes = maxAssemblingBytes;
        IdleLimitMs = idleLimitMs;
    }

    /// <summary>Largest copy put together here, in bytes.</summary>
    public int MaxCopyBytes { get; }

    /// <summary>Most bytes all transfers in progress hold together.</summary>
    public long MaxAssemblingBytes { get; }

    /// <summary>How long a transfer may wait for its next part before the next new transfer evicts it.</summary>
    public long IdleLimitMs { get; }

    /// <summary>Transfers in progress.</summary>
    public int InProgress
    {
        get
        {
            lock (_gate)
            {
                return _transfers.Count;
            }
        }
    }

    /// <summary>Bytes the transfers in progress hold.</summary>
    public long AssemblingBytes
    {
        get
        {
            lock (_gate)
            {
                return _assemblingBytes;
            }
        }
    }

    /// <summary>Parts refused or transfers dropped so far (out of order, too large, over the bound, malformed).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>
    /// Takes one part from <paramref name="from"/>. Null when it was taken; otherwise why it was refused (the transfer,
    /// if any, is dropped, so its ending request fails).
    /// </summary>
    public string? Add(NodeId from, CopyPart part, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(part);
        if (part.Transfer == 0)
        {
            return Refuse("a copy part names no transfer");
        }
        var key = (from, part.Transfer);
        lock (_gate)
        {
            if (part.Offset == 0)
            {
                if (_transfers.ContainsKey(key))
                {
                    Drop(key);
                    return Refuse($"transfer {part.Transfer} from node {from} started twice");
                }
                if (part.Total == 0 || part.Total > MaxCopyBytes)
                {
                    return Refuse($"a copy of {part.Total} bytes is not between 1 and {MaxCopyBytes}");
                }
                EvictIdle(nowMs);
                if (_assemblingBytes + part.Total > MaxAssemblingBytes)
                {
                    return Refuse($"{_assemblingBytes} bytes of copies are being put together already (limit {MaxAssemblingBytes})");
                }
                // Not zeroed: every byte is written by a part before the array leaves here.
                _transfers[key] = new Transfer(GC.AllocateUninitializedArray<byte>((int)part.Total));
                _assemblingBytes += part.Total;
            }
            if (!_transfers.TryGetValue(key, out var transfer))
            {
                return Refuse($"transfer {part.Transfer} from node {from} is not in progress (a part before was lost, or it was evicted)");
            }
            if (part.Offset != transfer.Filled || part.Data.Length > transfer.Buffer.Length - transfer.Filled)
            {
                Drop(key);
                return Refuse($"transfer {part.Transfer} from node {from}: a part of {part.Data.Length} bytes at {part.Offset} does not follow the {transfer.Filled} of {transfer.Buffer.Length} bytes received");
            }
            part.Data.Span.CopyTo(transfer.Buffer.AsSpan(transfer.Filled));
            transfer.Filled += part.Data.Length;
            transfer.LastPartMs = nowMs;
            return null;
        }
    }

    /// <summary>
    /// Ends a transfer with its last part: the whole copy, or null (and <paramref name="problem"/> says why) when a part
    /// is missing or the sizes disagree. The transfer is forgotten either way.
    /// </summary>
    public byte[]? Complete(NodeId from, ulong transfer, ReadOnlySpan<byte> lastPart, out string problem)
    {
        lock (_gate)
        {
            if (!_transfers.Remove((from, transfer), out var assembled))
            {
                problem = $"transfer {transfer} from node {from} is not in progress (a part was lost, or it was evicted)";
                Interlocked.Increment(ref _refused);
                return null;
            }
            _assemblingBytes -= assembled.Buffer.Length;
            if (assembled.Filled + lastPart.Length != assembled.Buffer.Length)
            {
                problem = $"transfer {transfer} from node {from} ends with {assembled.Filled + lastPart.Length} of its {assembled.Buffer.Length} bytes";
                Interlocked.Increment(ref _refused);
                return null;
            }
            lastPart.CopyTo(assembled.Buffer.AsSpan(assembled.Filled));
            problem = "";
            return assembled.Buffer;
        }
    }

    /// <summary>Forgets every transfer in progress (the forwarder stops).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _transfers.Clear();
            _assemblingBytes = 0;
        }
    }

    private void EvictIdle(long nowMs)
    {
        List<(NodeId, ulong)>? idle = null;
        foreach (var (key, transfer) in _transfers)
        {
            if (nowMs - transfer.LastPartMs >= IdleLimitMs)
            {
                (idle ??= []).Add(key);
            }
        }
        foreach (var key in idle ?? [])
        {
            Drop(key);
            Interlocked.Increment(ref _refused);
        }
    }

    private void Drop((NodeId, ulong) key)
    {
        if (_transfers.Remove(key, out var dropped))
        {
            _assemblingBytes -= dropped.Buffer.Length;
        }
    }

    private string Refuse(string why)
    {
        Interlocked.Increment(ref _refused);
        return why;
    }

    private sealed class Transfer(byte[] buffer)
    {
        public byte[] Buffer { get; } = buffer;

        public int Filled { get; set; }

        public long LastPartMs { get; set; } = long.MinValue;
    }
}
