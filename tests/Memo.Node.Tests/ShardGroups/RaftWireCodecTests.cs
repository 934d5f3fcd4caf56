using Memo.Node.Raft;
using Memo.Node.Shards.Replicated;

namespace Memo.Node.Tests.ShardGroups;

public sealed class RaftWireCodecTests
{
    private static RaftMessage RoundTrip(RaftMessage message)
    {
        Assert.True(RaftWireCodec.TryDecode(RaftWireCodec.Encode(message), out var decoded, out var error), error);
        return decoded!;
    }

    [Fact]
    public void An_append_with_entries_survives_the_round_trip()
    {
        var message = new RaftMessage
        {
            Kind = RaftMessageKind.Append, From = new NodeId(1), To = new NodeId(2), Term = new Term(7), LogTerm = new Term(6),
            Index = new LogIndex(41), Commit = new LogIndex(40),
            Entries = [new RaftEntry(new LogIndex(42), new Term(7), RaftEntryKind.Normal, [1, 2, 3]),
                new RaftEntry(new LogIndex(43), new Term(7), RaftEntryKind.ConfigChange, new ConfigChange(ConfigChangeKind.AddLearner, new NodeId(9)).Encode())],
        };

        var decoded = RoundTrip(message);

        Assert.Equal(message.ToString(), decoded.ToString());
        Assert.Equal(message.Entries.Select(e => (e.Index, e.Term, e.Kind, Convert.ToHexString(e.Data))),
            decoded.Entries.Select(e => (e.Index, e.Term, e.Kind, Convert.ToHexString(e.Data))));
        Assert.Null(decoded.Context);
        Assert.Null(decoded.Snapshot);
    }

    [Fact]
    public void A_snapshot_keeps_its_metadata_membership_and_payload()
    {
        var membership = RaftMembership.Create([new NodeId(1), new NodeId(3)], [new NodeId(4)]);
        var message = new RaftMessage
        {
            Kind = RaftMessageKind.Snapshot, From = new NodeId(1), To = new NodeId(4), Term = new Term(3),
            Snapshot = new RaftSnapshot(new SnapshotMetadata(new LogIndex(100), new Term(2), membership), [9, 8, 7]),
        };

        var decoded = RoundTrip(message);

        Assert.Equal(message.Snapshot.Metadata, decoded.Snapshot!.Metadata);
        Assert.Equal(message.Snapshot.Data, decoded.Snapshot.Data);
    }

    [Fact]
    public void A_rejection_with_hints_and_an_empty_context_round_trip_exactly()
    {
        var message = new RaftMessage
        {
            Kind = RaftMessageKind.AppendResponse, From = new NodeId(2), To = new NodeId(1), Term = new Term(5), Reject = true,
            Index = new LogIndex(10), RejectHint = new LogIndex(7), LogTerm = new Term(4), Context = [],
        };

        var decoded = RoundTrip(message);

        Assert.Equal((message.Reject, message.Index, message.RejectHint, message.LogTerm), (decoded.Reject, decoded.Index, decoded.RejectHint, decoded.LogTerm));
        Assert.NotNull(decoded.Context);
        Assert.Empty(decoded.Context);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF })]
    [InlineData(new byte[] { 0x08, 0x02, 0x10, 0x05 })] // format 2
    [InlineData(new byte[] { 0x08, 0x01, 0x10, 0x63 })] // kind 99
    [InlineData(new byte[] { 0x08, 0x01, 0x10, 0x09 })] // a Snapshot message without a snapshot
    public void Malformed_bytes_are_refused_with_a_reason(byte[] body)
    {
        Assert.False(RaftWireCodec.TryDecode(body, out var message, out var error));
        Assert.Null(message);
        Assert.False(string.IsNullOrEmpty(error));
    }
}
