namespace Memo.Node.Raft;

/// <summary>
/// Linearizable reads without writing to the log (thesis §6.4). The leader records its commit index, confirms it
/// is still leader with a heartbeat round acknowledged by a quorum, and only then hands out the read index; a new
/// leader first commits an entry of its own term, so its commit index covers every earlier acknowledged write.
/// </summary>
public sealed partial class RaftNode
{
    private readonly List<PendingRead> _reads = [];
    private readonly Dictionary<string, PendingRead> _readsByContext = [];
    private readonly Queue<(NodeId From, byte[] Context)> _readsWaitingForCommit = new();

    /// <summary>
    /// Requests a read index for <paramref name="context"/> (a unique request id chosen by the host). The answer
    /// comes as a <see cref="ReadState"/> in a later Ready, or never (leadership lost, message lost): hosts time out.
    /// </summary>
    public ProposeResult ReadIndex(byte[] context)
    {
        if (context.Length == 0)
        {
            return ProposeResult.Invalid("read context must not be empty");
        }

        if (Role == RaftRole.Leader)
        {
            return HandleReadIndexRequest(Id, context);
        }

        if (Leader.IsNone)
        {
            return ProposeResult.NotLeader(NodeId.None);
        }

        Send(new RaftMessage { Kind = RaftMessageKind.ReadIndex, From = Id, To = Leader, Term = Term, Context = context });
        return ProposeResult.Accepted(LogIndex.Zero, Term);
    }

    private ProposeResult HandleReadIndexRequest(NodeId from, byte[] context)
    {
        if (Faults.HasFlag(RaftFaults.ReadWithoutQuorumCheck) || IsSoleVoter || HoldsReadLease)
        {
            RespondToRead(from, _log.Committed, context);
            return ProposeResult.Accepted(_log.Committed, Term);
        }

        if (!CommittedInCurrentTerm)
        {
            if (_readsWaitingForCommit.Count >= _config.MaxPendingReads)
            {
                return ProposeResult.Dropped("too many pending reads");
            }

            _readsWaitingForCommit.Enqueue((from, context));
            return ProposeResult.Accepted(LogIndex.Zero, Term);
        }

        var key = Convert.ToBase64String(context);
        if (_reads.Count >= _config.MaxPendingReads || _readsByContext.ContainsKey(key))
        {
            return ProposeResult.Dropped(_reads.Count >= _config.MaxPendingReads ? "too many pending reads" : "duplicate read context");
        }

        var read = StartRound(from, context, key, isLease: false);
        BroadcastHeartbeat(context);
        return ProposeResult.Accepted(read.Index, Term);
    }

    // A confirmation round: the leader's own acknowledgement counts at once; heartbeats carrying the context gather the rest.
    private PendingRead StartRound(NodeId from, byte[] context, string key, bool isLease)
    {
        var read = new PendingRead(from, context, key, _log.Committed, _now, _membershipEpoch, isLease);
        if (Membership.IsVoter(Id))
        {
            read.Acks.Add(Id);
        }

        _reads.Add(read);
        _readsByContext.Add(key, read);
        return read;
    }

    private bool IsSoleVoter => Membership.Voters.Length == 1 && Membership.Voters[0] == Id;

    private void AcknowledgeRead(NodeId from, byte[] context)
    {
        if (!_readsByContext.TryGetValue(Convert.ToBase64String(context), out var read) || !Membership.IsVoter(from))
        {
            return;
        }

        read.Acks.Add(from);
        if (read.Acks.Count(Membership.IsVoter) < Membership.Quorum)
        {
            return;
        }

        // The acknowledgement confirms leadership as of every earlier request too (they were made before it).
        var position = _reads.IndexOf(read);
        ExtendLease(read);
        for (var i = 0; i <= position; i++)
        {
            var done = _reads[i];
            _readsByContext.Remove(done.Key);
            if (!done.IsLease)
            {
                RespondToRead(done.From, done.Index, done.Context);
            }
        }

        _reads.RemoveRange(0, position + 1);
    }

    private void RespondToRead(NodeId from, LogIndex index, byte[] context)
    {
        if (from == Id)
        {
            _readStates.Add(new ReadState(index, context));
        }
        else
        {
            Send(new RaftMessage { Kind = RaftMessageKind.ReadIndexResponse, From = Id, To = from, Term = Term, Index = index, Context = context });
        }
    }

    private void ReleaseReadsWaitingForCommit()
    {
        while (_readsWaitingForCommit.Count > 0)
        {
            var (from, context) = _readsWaitingForCommit.Dequeue();
            HandleReadIndexRequest(from, context);
        }
    }

    private void ResetReads()
    {
        _reads.Clear();
        _readsByContext.Clear();
        _readsWaitingForCommit.Clear();
        ResetLease();
    }

    // SentAt: the host clock when the round began (its heartbeats leave later, so a lease counted from it is
    // conservative). Epoch: the configuration it was gathered under. A lease round answers nobody.
    private sealed class PendingRead(NodeId from, byte[] context, string key, LogIndex index, double sentAt, int epoch, bool isLease)
    {
        public double SentAt { get; } = sentAt;

        public int Epoch { get; } = epoch;

        public bool IsLease { get; } = isLease;

        public NodeId From { get; } = from;

        public byte[] Context { get; } = context;

        public string Key { get; } = key;

        public LogIndex Index { get; } = index;

        public HashSet<NodeId> Acks { get; } = [];
    }
}
