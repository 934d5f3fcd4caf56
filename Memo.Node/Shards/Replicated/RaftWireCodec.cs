using Google.Protobuf;
using Memo.Node.Raft;
using Memo.Node.Shards.Replicated.Wire;

namespace Memo.Node.Shards.Replicated;

/// <summary>
/// Maps <see cref="RaftMessage"/> to and from its wire form (<c>memo_raft.proto</c>, <see cref="RaftEnvelope"/>).
/// Decoding never trusts the peer: a malformed message is reported as a value and dropped by the caller, since a
/// bad peer must not stop a replica.
/// </summary>
internal static class RaftWireCodec
{
    /// <summary>The envelope format this version writes and accepts.</summary>
    public const uint Format = 1;

    // Far above any real group; bounds what a hostile snapshot header can make us allocate.
    private const int MaxMembers = 1024;

    /// <summary>The message's bytes.</summary>
    public static byte[] Encode(RaftMessage message)
    {
        var envelope = new RaftEnvelope
        {
            Format = Format,
            Kind = (uint)message.Kind,
            From = message.From.Value,
            To = message.To.Value,
            Term = message.Term.Value,
            LogTerm = message.LogTerm.Value,
            Index = message.Index.Value,
            Commit = message.Commit.Value,
            Reject = message.Reject,
            RejectHint = message.RejectHint.Value,
        };
        foreach (var e in message.Entries)
        {
            envelope.Entries.Add(new RaftLogEntry
            {
                Index = e.Index.Value,
                Term = e.Term.Value,
                Kind = (uint)e.Kind,
                Data = UnsafeByteOperations.UnsafeWrap(e.Data),
            });
        }
        if (message.Snapshot is { } snapshot)
        {
            var wire = new RaftSnapshotMessage
            {
                Index = snapshot.Index.Value,
                Term = snapshot.Term.Value,
                Data = UnsafeByteOperations.UnsafeWrap(snapshot.Data),
            };
            wire.Voters.AddRange(snapshot.Metadata.Membership.Voters.Select(v => v.Value));
            wire.Learners.AddRange(snapshot.Metadata.Membership.Learners.Select(l => l.Value));
            envelope.Snapshot = wire;
        }
        if (message.Context is { } context)
        {
            envelope.Context = UnsafeByteOperations.UnsafeWrap(context);
        }
        return envelope.ToByteArray();
    }

    /// <summary>Decodes a message; false with the reason when the bytes are not a valid message of this format.</summary>
    public static bool TryDecode(ReadOnlyMemory<byte> body, out RaftMessage? message, out string? error)
    {
        message = null;
        RaftEnvelope envelope;
        try
        {
            envelope = RaftEnvelope.Parser.ParseFrom(body.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            error = "not a Raft envelope: " + e.Message;
            return false;
        }
        if (envelope.Format != Format)
        {
            error = $"unknown Raft envelope format {envelope.Format}";
            return false;
        }
        var kind = (RaftMessageKind)envelope.Kind;
        if (envelope.Kind > int.MaxValue || !Enum.IsDefined(kind))
        {
            error = $"unknown Raft message kind {envelope.Kind}";
            return false;
        }
        if (!ValidLogValue(envelope.Term) || !ValidLogValue(envelope.LogTerm) || !ValidLogValue(envelope.Index)
            || !ValidLogValue(envelope.Commit) || !ValidLogValue(envelope.RejectHint))
        {
            error = "a term or index above 2^63-1";
            return false;
        }
        var entries = new RaftEntry[envelope.Entries.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var e = envelope.Entries[i];
            var entryKind = (RaftEntryKind)e.Kind;
            if (e.Kind > int.MaxValue || !Enum.IsDefined(entryKind) || !ValidLogValue(e.Index) || !ValidLogValue(e.Term) || e.Index == 0)
            {
                error = $"malformed entry #{i}";
                return false;
            }
            entries[i] = new RaftEntry(new LogIndex(e.Index), new Term(e.Term), entryKind, e.Data.ToByteArray());
        }
        RaftSnapshot? snapshot = null;
        if (envelope.Snapshot is { } s)
        {
            if (s.Voters.Count + s.Learners.Count > MaxMembers || !ValidLogValue(s.Index) || !ValidLogValue(s.Term)
                || s.Voters.Contains(0UL) || s.Learners.Contains(0UL) || s.Voters.Intersect(s.Learners).Any())
            {
                error = "malformed snapshot metadata";
                return false;
            }
            var membership = RaftMembership.Create(s.Voters.Select(v => new NodeId(v)), s.Learners.Select(l => new NodeId(l)));
            snapshot = new RaftSnapshot(new SnapshotMetadata(new LogIndex(s.Index), new Term(s.Term), membership), s.Data.ToByteArray());
        }
        if (kind == RaftMessageKind.Snapshot && snapshot is null)
        {
            error = "a Snapshot message without a snapshot";
            return false;
        }
        message = new RaftMessage
        {
            Kind = kind,
            From = new NodeId(envelope.From),
            To = new NodeId(envelope.To),
            Term = new Term(envelope.Term),
            LogTerm = new Term(envelope.LogTerm),
            Index = new LogIndex(envelope.Index),
            Entries = entries,
            Commit = new LogIndex(envelope.Commit),
            Reject = envelope.Reject,
            RejectHint = new LogIndex(envelope.RejectHint),
            Snapshot = snapshot,
            Context = envelope.HasContext ? envelope.Context.ToByteArray() : null,
        };
        error = null;
        return true;
    }

    private static bool ValidLogValue(ulong value) => value <= long.MaxValue;
}
