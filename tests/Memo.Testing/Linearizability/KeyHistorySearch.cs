using System.Diagnostics;
using System.Text;

namespace Memo.Testing.Linearizability;

/// <summary>
/// The Wing–Gong/Lowe search over one key's sub-history (see <see cref="LinearizabilityChecker"/> for the design note).
/// Single use: construct, <see cref="Run"/>, then <see cref="Explain"/>.
/// </summary>
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

    // Values interned to ints so the register state is an int (Absent = -1).
    private readonly int[] _input;
    private readonly int[] _output;
    private readonly string?[] _values;
    private readonly int _okCount;

    private readonly Node _head;
    private Verdict _verdict = Verdict.Pending;
    private int[] _bestPrefix = [];
    private int _bestState = Absent;
    private long _steps;
    private int _visited;

    public KeyHistorySearch(string key, IReadOnlyList<HistoryOperation> operations, Stopwatch stopwatch, TimeSpan budget)
    {
        _key = key;
        _ops = operations.ToArray();
        _stopwatch = stopwatch;
        _budget = budget;

        var interned = new Dictionary<string, int>(StringComparer.Ordinal);
        var values = new List<string?>();
        int Intern(string? value)
        {
            if (value is null)
            {
                return Absent;
            }

            if (!interned.TryGetValue(value, out var id))
            {
                id = values.Count;
                values.Add(value);
                interned.Add(value, id);
            }

            return id;
        }

        _input = new int[_ops.Length];
        _output = new int[_ops.Length];
        for (var i = 0; i < _ops.Length; i++)
        {
            _input[i] = Intern(_ops[i].Input);
            _output[i] = Intern(_ops[i].Output);
            if (_ops[i].Outcome == HistoryOutcome.Ok)
            {
                _okCount++;
            }
        }

        _values = values.ToArray();
        _head = BuildEventList();
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
        var unknown = _ops.Length - _okCount;
        switch (_verdict)
        {
            case Verdict.Linearizable:
                return $"key \"{_key}\": linearizable ({_okCount} completed, {unknown} unknown operations)";
            case Verdict.TimedOut:
                text.Append($"key \"{_key}\": no verdict within the budget of {_budget.TotalSeconds:F1} s or ")
                    .Append($"{LinearizabilityChecker.MaxVisitedConfigurationsPerKey} configurations ")
                    .Append($"({_okCount} completed, {unknown} unknown operations, {_visited} configurations visited); ");
                break;
            case Verdict.Violation:
                text.Append($"key \"{_key}\": not linearizable ({_okCount} completed, {unknown} unknown operations); ");
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

        text.Append($"; value after it: {HistoryOperation.Quote(ValueOf(_bestState))}");
        var blocked = BlockingOperation();
        if (blocked >= 0)
        {
            text.Append($"; could not place {_ops[blocked]}");
            var candidates = CandidatesAfterBestPrefix(blocked);
            if (candidates.Count > 0)
            {
                text.Append(" nor linearize any of the concurrent operations before it: ")
                    .AppendJoin("; ", candidates.Select(i => _ops[i].ToString()));
            }
        }

        return text.ToString();
    }

    private Verdict Search()
    {
        var linearized = new Bitset(_ops.Length);
        var visited = new HashSet<Configuration>();
        var calls = new Stack<(Node Call, int StateBefore)>();
        var state = Absent;
        var remainingOk = _okCount;
        var entry = _head.Next;
        while (remainingOk > 0)
        {
            if (++_steps % StepsPerBudgetCheck == 0 && _stopwatch.Elapsed > _budget)
            {
                return Verdict.TimedOut;
            }

            // Every Ok operation left has a return event in the list, so the walk meets one before running off the end.
            if (entry is null)
            {
                throw new UnreachableException($"key \"{_key}\": search walked past the last return event");
            }

            if (entry.IsCall)
            {
                var op = entry.Operation;
                if (Step(op, state, out var next))
                {
                    var configuration = new Configuration(linearized.With(op), next);
                    if (visited.Add(configuration))
                    {
                        if (++_visited > LinearizabilityChecker.MaxVisitedConfigurationsPerKey)
                        {
                            return Verdict.TimedOut;
                        }

                        calls.Push((entry, state));
                        linearized.Set(op);
                        state = next;
                        if (_ops[op].Outcome == HistoryOutcome.Ok)
                        {
                            remainingOk--;
                        }

                        if (calls.Count > _bestPrefix.Length)
                        {
                            RememberBestPrefix(calls, state);
                        }

                        Lift(entry);
                        entry = _head.Next;
                        continue;
                    }
                }

                entry = entry.Next;
                continue;
            }

            // A return event of an operation not yet linearized: this prefix cannot be extended. Undo the last choice
            // and try the next candidate after it.
            if (calls.Count == 0)
            {
                return Verdict.Violation;
            }

            var (call, before) = calls.Pop();
            linearized.Clear(call.Operation);
            state = before;
            if (_ops[call.Operation].Outcome == HistoryOutcome.Ok)
            {
                remainingOk++;
            }

            Unlift(call);
            entry = call.Next;
        }

        return Verdict.Linearizable;
    }

    /// <summary>The register model: whether <paramref name="op"/> can take effect in <paramref name="state"/> with its
    /// recorded result, and the state after it.</summary>
    private bool Step(int op, int state, out int next)
    {
        var operation = _ops[op];
        var known = operation.Outcome == HistoryOutcome.Ok;
        next = state;
        switch (operation.Kind)
        {
            case KvOperationKind.Read:
                return _output[op] == state;
            case KvOperationKind.Upsert:
                next = _input[op];
                return !known || operation.Applied;
            case KvOperationKind.Insert:
                return Conditional(state == Absent, _input[op], known, operation.Applied, ref next);
            case KvOperationKind.Update:
                return Conditional(state != Absent, _input[op], known, operation.Applied, ref next);
            case KvOperationKind.Delete:
                return Conditional(state != Absent, Absent, known, operation.Applied, ref next);
            default:
                throw new UnreachableException($"operation kind {operation.Kind}");
        }
    }

    private static bool Conditional(bool precondition, int written, bool known, bool applied, ref int next)
    {
        if (known && applied != precondition)
        {
            return false;
        }

        if (precondition)
        {
            next = written;
        }

        return true;
    }

    private Node BuildEventList()
    {
        var events = new List<(long Time, bool IsCall, int Op)>(_ops.Length * 2);
        for (var i = 0; i < _ops.Length; i++)
        {
            events.Add((_ops[i].InvokedAt, true, i));
            if (_ops[i].Outcome == HistoryOutcome.Ok)
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
        var calls = new Node?[_ops.Length];
        var tail = head;
        foreach (var (_, isCall, op) in events)
        {
            var node = new Node(op, isCall);
            if (isCall)
            {
                calls[op] = node;
            }
            else
            {
                calls[op]!.Match = node;
            }

            node.Prev = tail;
            tail.Next = node;
            tail = node;
        }

        return head;
    }

    private static void Lift(Node call)
    {
        call.Prev!.Next = call.Next;
        if (call.Next is not null)
        {
            call.Next.Prev = call.Prev;
        }

        if (call.Match is { } ret)
        {
            ret.Prev!.Next = ret.Next;
            if (ret.Next is not null)
            {
                ret.Next.Prev = ret.Prev;
            }
        }
    }

    /// <summary>Reverses <see cref="Lift"/>; correct because lifts are undone in LIFO order, so the neighbours a node
    /// remembers are exactly the ones it had when it was removed.</summary>
    private static void Unlift(Node call)
    {
        if (call.Match is { } ret)
        {
            ret.Prev!.Next = ret;
            if (ret.Next is not null)
            {
                ret.Next.Prev = ret;
            }
        }

        call.Prev!.Next = call;
        if (call.Next is not null)
        {
            call.Next.Prev = call;
        }
    }

    private void RememberBestPrefix(Stack<(Node Call, int StateBefore)> calls, int state)
    {
        var prefix = new int[calls.Count];
        var i = prefix.Length;
        foreach (var (call, _) in calls)
        {
            prefix[--i] = call.Operation;
        }

        _bestPrefix = prefix;
        _bestState = state;
    }

    /// <summary>After the best prefix, the Ok operation whose return event stopped the search: the earliest-returning
    /// one not in the prefix.</summary>
    private int BlockingOperation()
    {
        var inPrefix = new HashSet<int>(_bestPrefix);
        var blocked = -1;
        for (var i = 0; i < _ops.Length; i++)
        {
            if (_ops[i].Outcome != HistoryOutcome.Ok || inPrefix.Contains(i))
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

    /// <summary>Operations not in the best prefix that were invoked before the blocking one returned (the ones the
    /// search could have tried next), excluding the blocking one; capped for readability.</summary>
    private List<int> CandidatesAfterBestPrefix(int blocked)
    {
        var inPrefix = new HashSet<int>(_bestPrefix);
        var limit = _ops[blocked].ReturnedAt!.Value;
        return Enumerable.Range(0, _ops.Length)
            .Where(i => i != blocked && !inPrefix.Contains(i) && _ops[i].InvokedAt <= limit)
            .Take(ReportedPrefixLength)
            .ToList();
    }

    private string? ValueOf(int state) => state == Absent ? null : _values[state];

    private sealed class Node(int operation, bool isCall)
    {
        public int Operation { get; } = operation;

        public bool IsCall { get; } = isCall;

        /// <summary>For a call of an Ok operation, its return event; null for returns and for Unknown operations.</summary>
        public Node? Match { get; set; }

        public Node? Prev { get; set; }

        public Node? Next { get; set; }
    }

    /// <summary>A memoised search configuration: which operations are linearized and the register value after them.</summary>
    private readonly struct Configuration(Bitset linearized, int state) : IEquatable<Configuration>
    {
        private readonly Bitset _linearized = linearized;
        private readonly int _state = state;
        private readonly int _hash = HashCode.Combine(linearized.GetHashCode(), state);

        public bool Equals(Configuration other) =>
            _hash == other._hash && _state == other._state && _linearized.Equals(other._linearized);

        public override bool Equals(object? obj) => obj is Configuration other && Equals(other);

        public override int GetHashCode() => _hash;
    }
}
