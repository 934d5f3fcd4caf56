namespace Memo.Node.Shards.Scanning;

/// <summary>
/// One node's walk of a <see cref="KeyScan"/> over its stored keys in order: the pure decision core of a listing
/// (no I/O; <see cref="SiloKeyScan"/> feeds it pages read from the silo).
/// </summary>
/// <remarks>
/// <para><b>Design note.</b> The walk keeps a <see cref="Position"/> that only moves forward: every row offered moves
/// it past that row, and a key that rolls up into a common prefix moves it past every key under the prefix, so the
/// next page is read from there (a seek) instead of through the keys under it. Each stored row is therefore read at
/// most once per walk, and a listing costs time linear in the rows it reads, however many common prefixes it
/// returns. Rows of shards this node does not lead are passed over without being listed (another node lists them).
/// </para>
/// <para>The walk stops after <see cref="KeyScan.Limit"/> + 1 items (one more than a page, to know the page is
/// truncated), after <see cref="KeyScan.MaxRows"/> rows (the work budget: the caller gets what was found and a
/// position to resume from), or at the end of the prefix's range. It never stops right after a passed-over key that
/// a marker would read as a common prefix (a key ending with its first delimiter): resuming "after" it would skip
/// the keys under it, so it reads one row more instead.</para>
/// <para>Pages shrink when their tail was spent inside a prefix already returned (the seek would have skipped those
/// rows) and grow otherwise, between 16 and 1,024 rows and never beyond the remaining budget.</para>
/// </remarks>
public sealed class KeyScanWalk
{
    private const int MinPageRows = 16;
    private const int MaxPageRows = 1024;

    private readonly KeyScan _scan;
    private readonly List<ScanItem> _items = [];
    private ScanPosition? _position;
    private int _pageRows;
    private bool _lastRowPassed;

    /// <summary>Starts a walk at <see cref="KeyScan.After"/>.</summary>
    public KeyScanWalk(KeyScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentOutOfRangeException.ThrowIfLessThan(scan.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(scan.MaxRows, 1);
        _scan = scan;
        _position = scan.After;
        _pageRows = Math.Clamp(scan.Limit + 1, MinPageRows, MaxPageRows);
    }

    /// <summary>Where the next page starts (exclusive); null: at the first key with the prefix.</summary>
    public ScanPosition? Position => _position;

    /// <summary>Stored rows offered so far.</summary>
    public int RowsRead { get; private set; }

    /// <summary>Whether the walk has stopped (page full, budget spent or range ended).</summary>
    public bool IsDone { get; private set; }

    /// <summary>How many rows the next page should ask for.</summary>
    public int NextPageRows => Math.Max(1, Math.Min(_pageRows, _scan.MaxRows - RowsRead));

    /// <summary>Takes the next stored key in order (after <see cref="Position"/>); false when the walk stops here.</summary>
    /// <param name="key">The stored key.</param>
    /// <param name="listed">Whether this node lists the key (it leads the key's shard).</param>
    public bool Offer(string key, bool listed)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (IsDone)
        {
            throw new InvalidOperationException("The walk has stopped.");
        }
        RowsRead++;
        var item = _scan.ItemOf(key);
        var passed = !listed || (_position is { } at && ScanPosition.Compare(item.End, at) <= 0);
        _lastRowPassed = passed;
        ScanPosition end;
        if (passed)
        {
            end = new ScanPosition(key, PastPrefix: false);
        }
        else
        {
            _items.Add(item);
            end = item.End;
        }
        _position = _position is { } before ? ScanPosition.Max(before, end) : end;

        if (_items.Count > _scan.Limit || (RowsRead >= _scan.MaxRows && ResumableAt(_position.Value)))
        {
            IsDone = true;
            return false;
        }
        return true;
    }

    /// <summary>Ends a page: <paramref name="returned"/> rows came back of <paramref name="asked"/>; fewer means the range ended.</summary>
    public void EndPage(int returned, int asked)
    {
        if (IsDone)
        {
            return;
        }
        if (returned < asked)
        {
            IsDone = true;
            Complete = true;
            return;
        }
        _pageRows = _lastRowPassed ? Math.Max(MinPageRows, _pageRows / 2) : Math.Min(MaxPageRows, _pageRows * 2);
    }

    /// <summary>Whether the walk read to the end of the prefix's range.</summary>
    public bool Complete { get; private set; }

    /// <summary>The items found, in order, and where to resume (null when the range was read to its end).</summary>
    public KeyScanResult Result() => new(_items.ToList(), Complete ? null : _position);

    // Resuming after a key that reads as a common prefix marker would skip every key under it.
    private bool ResumableAt(ScanPosition position) =>
        position.PastPrefix || _scan.ItemOf(position.Key) is not { IsPrefix: true } item || item.Text != position.Key;
}
