using System.Diagnostics;
using System.Text;

namespace Memo.Testing.Linearizability;

/// <summary>
/// The Wing–Gong/Lowe search over one key's sub-history (see <see cref="LinearizabilityChecker"/> for the design note).
/// Single use: construct, <see cref="Run"/>, then <see cref="Explain"/>.
/// </summary>
/// <remarks>
/// Reductions on top of the plain search, each of which preserves the verdict:
/// <list type="bullet">
/// <item>Value abstraction: values that no Ok read returned are indistinguishable to every operation (only presence
/// matters to them), so they are all interned as one token.</item>
/// <item>Unknown operations of the same kind writing the same (abstract) value are interchangeable once invoked, so
/// they are used in invocation order only; the memo then never holds two symmetric configurations.</item>
/// <item>Unknown operations are linearized only in short useful runs. Between two Ok operations, a run of Unknown
/// operations matters only through the value it leaves, and any run can be shortened to at most two of its own operations
/// leaving the same value (e.g. a Delete then an Insert): the last one sets the value, and a first one is needed only to
/// make the last one's precondition hold. So the search never linearizes an Unknown operation that leaves the register
/// unchanged, never a third in a row, never a second one whose effect would be the same without the first (the first
/// would be dead), and never a second one that returns the register to its value before the run. Omitting an Unknown
/// operation is always allowed, so the shorter run is at least as good. The run's shape (length, value before it) is
/// part of the memoised configuration, since it restricts what may follow.</item>
/// <item>At each point Ok operations are tried before Unknown ones, so Unknown operations are used only when needed;
/// with <see cref="FailedConfigurations"/> pruning dominated configurations, this keeps histories with many Unknown
/// operations tractable.</item>
/// </list>
/// </remarks>
internal sealed class KeyHistorySearch
{
    /// <summary>The register value "absent".</summary>
    private const int Absent = -1;

    /// <summary>How many search steps run between two looks at the clock.</summary>
    private const int StepsPerBudgetCheck = 256;

    /// <summary>In a report, how many operations of the linearizable prefix are listed (the last ones).</summary>
    private const int ReportedPrefixLength = 12;

    private readonly string _key;
    private readonly HistoryOperation[] _ops;
    private readonly Stopwatch _stopwatch;
    private readonly TimeSpan _budget;

    // Per operation: abstract input and output values, its slot in the Ok or Unknown bitset, and for Unknown operations
    // its symmetry class and rank within it (invocation order).
    private readonly int[] _input;
    private readonly int[] _output;
    private readonly bool[] _isOk;
    private readonly int[] _slot;
    private readonly int[] _class;
    private readonly int[] _rank;
    private readonly int[] _usedInClass;
    private readonly int _okCount;
    private readonly int _unknownCount;

    private readonly Node _head;
    private Verdict _verdict = Verdict.Pending;
    private int[] _bestPrefix = [];
    private long _steps;
    private int _configurations;

    public KeyHistorySearch(string key, IReadOnlyList<HistoryOperation> operations, Stopwatch stopwatch, TimeSpan budget)
    {
        _key = key;
        _ops = operations.ToArray();
        _stopwatch = stopwatch;
        _budget = budget;

        var n = _ops.Length;
        _input = new int[n];
        _output = new int[n];
        _isOk = new bool[n];
        _slot = new int[n];
        _class = new int[n];
        _rank = new int[n];

        // Values some Ok read returned get their own ids; every other value is the shared token "unread".
        var readValues = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var op in _ops)
        {
            if (op is { Outcome: HistoryOutcome.Ok, Kind: KvOperationKind.Read, Output: { } value })
            {
                readValues.TryAdd(value, readValues.Count);
            }
        }

        var unread = readValues.Count;
        int Abstract(string? value) => value is null ? Absent : readValues.TryGetValue(value, out var id) ? id : unread;

        for (var i = 0; i < n; i++)
        {
            _isOk[i] = _ops[i].Outcome == HistoryOutcome.Ok;
            _input[i] = Abstract(_ops[i].Input);
            _output[i] = Abstract(_ops[i].Output);
            _slot[i] = _isOk[i] ? _okCount++ : _unknownCount++;
            _class[i] = -1;
        }

        _head = BuildEventList(out var callOrder);

        var classes = new Dictionary<(KvOperationKind, int), int>();
        var classSizes = new List<int>();
        foreach (var op in callOrder)
        {
            if (_isOk[op])
            {
                continue;
            }

            var classKey = (_ops[op].Kind, _input[op]);
            if (!classes.TryGetValue(classKey, out var id))
            {
                id = classSizes.Count;
                classes.Add(classKey, id);
                classSizes.Add(0);
            }

            _class[op] = id;
            _rank[op] = classSizes[id]++;
        }

        _usedInClass = new int[classSizes.Count];
    }

    public enum Verdict
    {
        Pending,
        Linearizable,
        Violation,
        TimedOut,
    }

    /// <summary>Runs the search to a verdict (or until the budget or the memo limit is exhausted).</summary>
    public Verdict Run()
    {
        if (_verdict != Verdict.Pending)
        {
            throw new InvalidOperationException("a search runs once");
        }

        _verdict = Search();
        return _verdict;
    }

    /// <summary>A short human-readable account of the verdict for this key.</summary>
    public string Explain()
    {
        var text = new StringBuilder();
        var counts = $"{_okCount} completed, {_unknownCount} unknown operations";
        switch (_verdict)
        {
            case Verdict.Linearizable:
                return $"key \"{_key}\": linearizable ({counts})";
            case Verdict.TimedOut:
                text.Append($"key \"{_key}\": no verdict within the budget of {_budget.TotalSeconds:F1} s or ")
                    .Append($"{LinearizabilityChecker.MaxMemoBytesPerKey >> 20} MB of memo ")
                    .Append($"({counts}, {_configurations} failed configurations stored, {_steps} steps); ");
                break;
            case Verdict.Violation:
                text.Append($"key \"{_key}\": not linearizable ({counts}); ");
                break;
            default:
                return $"key \"{_key}\": not checked";
        }

        text.Append($"longest linearizable prefix has {_bestPrefix.Length} operations");
        if (_bestPrefix.Length > 0)
        {
            text.Append(_bestPrefix.Length > ReportedPrefixLength ? ", ending with: " : ": ");
            var from = Math.Max(0, _bestPrefix.Length - ReportedPrefixLength);
            text.AppendJoin("; ", _bestPrefix[from..].Select(i => _ops[i].ToString()));
        }

        text.Append($"; value after it: {HistoryOperation.Quote(ReplayBestPrefix())}");
        var blocked = BlockingOperation();
        if (blocked >= 0)
        {
            text.Append($"; could not place {_ops[blocked]}");
            var others = OthersOpenBefore(blocked);
            if (others.Count > 0)
            {
                text.Append(", nor any other operation invoked before it returned: ")
                    .AppendJoin("; ", others.Select(i => _ops[i].ToString()));
            }
        }

        return text.ToString();
    }

    private Verdict Search()
    {
        var okDone = new Bitset(_okCount);
        var unknownDone = new Bitset(_unknownCount);
        var failed = new FailedConfigurations();
        var calls = new Stack<Frame>();
        var state = Absent;
        var run = UnknownRun.None;
        var remainingOk = _okCount;
        var entry = _head.Next;

        // Phase 0 walks the candidates (calls before the first pending return) trying Ok operations; phase 1 walks
        // them again trying Unknown ones.
        var phase = 0;
        while (remainingOk > 0)
        {
            if (++_steps % StepsPerBudgetCheck == 0 && _stopwatch.Elapsed > _budget)
            {
                return Verdict.TimedOut;
            }

            // Every Ok operation left has a return event in the list, so a walk meets one before running off the end.
            if (entry is null)
            {
                throw new UnreachableException($"key \"{_key}\": search walked past the last return event");
            }

            if (entry.IsCall)
            {
                var op = entry.Operation;
                if (_isOk[op] == (phase == 0) && TryStep(op, state, run, out var next))
                {
                    var set = _isOk[op] ? okDone : unknownDone;
                    set.Set(_slot[op]);
                    var nextRun = _isOk[op] ? UnknownRun.None : run.Extended(state);
                    if (!failed.Dominates(okDone, unknownDone, next, nextRun))
                    {
                        calls.Push(new Frame(entry, state, run, phase));
                        state = next;
                        run = nextRun;
                        if (_isOk[op])
                        {
                            remainingOk--;
                        }
                        else
                        {
                            _usedInClass[_class[op]]++;
                        }

                        if (calls.Count > _bestPrefix.Length)
                        {
                            _bestPrefix = calls.Select(f => f.Call.Operation).Reverse().ToArray();
                        }

                        Lift(entry);
                        entry = _head.Next;
                        phase = 0;
                        continue;
                    }

                    set.Clear(_slot[op]);
                }

                entry = entry.Next;
                continue;
            }

            // A return event of an operation not yet linearized: nothing after it may come next. Walk the candidates
            // again for Unknown operations, unless none could be taken.
            if (phase == 0 && _unknownCount > 0 && run.Length < 2)
            {
                phase = 1;
                entry = _head.Next;
                continue;
            }

            // No candidate extends this prefix: remember the configuration as failed, undo the last choice and try
            // the candidates after it.
            if (calls.Count == 0)
            {
                return Verdict.Violation;
            }

            failed.Add(okDone, unknownDone, state, run);
            _configurations = failed.Count;
            if (failed.ApproximateBytes > LinearizabilityChecker.MaxMemoBytesPerKey)
            {
                return Verdict.TimedOut;
            }

            var frame = calls.Pop();
            var undone = frame.Call.Operation;
            if (_isOk[undone])
            {
                okDone.Clear(_slot[undone]);
                remainingOk++;
            }
            else
            {
                unknownDone.Clear(_slot[undone]);
                _usedInClass[_class[undone]]--;
            }

            state = frame.StateBefore;
            run = frame.RunBefore;
            Unlift(frame.Call);
            entry = frame.Call.Next;
            phase = frame.Phase;
        }

        return Verdict.Linearizable;
    }

    /// <summary>
    /// The register model on abstract values: whether <paramref name="op"/> may be linearized in
    /// <paramref name="state"/> after the current <paramref name="run"/> of Unknown operations, and the state after it.
    /// </summary>
    private bool TryStep(int op, int state, UnknownRun run, out int next)
    {
        next = After(op, state, out var applies);
        var operation = _ops[op];
        if (_isOk[op])
        {
            return operation.Kind == KvOperationKind.Read ? _output[op] == state : operation.Applied == applies;
        }

        // Unknown: in its class's invocation order, changing the register, and keeping the run short and useful.
        if (_rank[op] != _usedInClass[_class[op]] || next == state)
        {
            return false;
        }

        return run.Length switch
        {
            0 => true,
            1 => next != run.StartState && After(op, run.StartState, out _) != next,
            _ => false,
        };
    }

    private int After(int op, int state, out bool applies)
    {
        var kind = _ops[op].Kind;
        applies = KvRegister.Applies(kind, state != Absent);
        return applies ? KvRegister.After(kind, state, _input[op], Absent) : state;
    }

    private Node BuildEventList(out List<int> callOrder)
    {
        var events = new List<(long Time, bool IsCall, int Op)>(_ops.Length * 2);
        for (var i = 0; i < _ops.Length; i++)
        {
            events.Add((_ops[i].InvokedAt, true, i));
            if (_isOk[i])
            {
                events.Add((_ops[i].ReturnedAt!.Value, false, i));
            }
        }

        // Time order; at equal times calls first, so operations touching at one instant count as concurrent.
        events.Sort((a, b) =>
        {
            var byTime = a.Time.CompareTo(b.Time);
            if (byTime != 0)
            {
                return byTime;
            }

            return a.IsCall == b.IsCall ? a.Op.CompareTo(b.Op) : (a.IsCall ? -1 : 1);
        });

        var head = new Node(-1, isCall: false);
        var callNodes = new Node?[_ops.Length];
        callOrder = new List<int>(_ops.Length);
        var tail = head;
        foreach (var (_, isCall, op) in events)
        {
            var node = new Node(op, isCall);
            if (isCall)
            {
                callNodes[op] = node;
                callOrder.Add(op);
            }
            else
            {
                callNodes[op]!.Match = node;
            }

            node.Prev = tail;
            tail.Next = node;
            tail = node;
        }

        return head;
    }

    private static void Lift(Node call)
    {
        Remove(call);
        if (call.Match is { } ret)
        {
            Remove(ret);
        }
    }

    /// <summary>Reverses <see cref="Lift"/>; correct because lifts are undone in LIFO order, so the neighbours a node
    /// remembers are exactly the ones it had when it was removed.</summary>
    private static void Unlift(Node call)
    {
        if (call.Match is { } ret)
        {
            Restore(ret);
        }

        Restore(call);
    }

    private static void Remove(Node node)
    {
        node.Prev!.Next = node.Next;
        if (node.Next is not null)
        {
            node.Next.Prev = node.Prev;
        }
    }

    private static void Restore(Node node)
    {
        node.Prev!.Next = node;
        if (node.Next is not null)
        {
            node.Next.Prev = node;
        }
    }

    /// <summary>The concrete register value after the best prefix (the search itself only knows abstract values).</summary>
    private string? ReplayBestPrefix()
    {
        string? value = null;
        foreach (var op in _bestPrefix)
        {
            var operation = _ops[op];
            if (KvRegister.Applies(operation.Kind, value is not null))
            {
                value = KvRegister.After(operation.Kind, value, operation.Input, null);
            }
        }

        return value;
    }

    /// <summary>After the best prefix, the Ok operation whose return event stopped the search: the earliest-returning
    /// one not in the prefix.</summary>
    private int BlockingOperation()
    {
        var inPrefix = new HashSet<int>(_bestPrefix);
        var blocked = -1;
        for (var i = 0; i < _ops.Length; i++)
        {
            if (!_isOk[i] || inPrefix.Contains(i))
            {
                continue;
            }

            if (blocked < 0 || _ops[i].ReturnedAt < _ops[blocked].ReturnedAt)
            {
                blocked = i;
            }
        }

        return blocked;
    }

    /// <summary>Operations not in the best prefix that were invoked before the blocking one returned (the other
    /// candidates the search had), capped for readability.</summary>
    private List<int> OthersOpenBefore(int blocked)
    {
        var inPrefix = new HashSet<int>(_bestPrefix);
        var limit = _ops[blocked].ReturnedAt!.Value;
        return Enumerable.Range(0, _ops.Length)
            .Where(i => i != blocked && !inPrefix.Contains(i) && _ops[i].InvokedAt <= limit)
            .Take(ReportedPrefixLength)
            .ToList();
    }

    private readonly record struct Frame(Node Call, int StateBefore, UnknownRun RunBefore, int Phase);

    private sealed class Node(int operation, bool isCall)
    {
        public int Operation { get; } = operation;

        public bool IsCall { get; } = isCall;

        /// <summary>For a call of an Ok operation, its return event; null for returns and for Unknown operations.</summary>
        public Node? Match { get; set; }

        public Node? Prev { get; set; }

        public Node? Next { get; set; }
    }
}
