using Google.Protobuf;
using Memo.Node.Routing;
using Memo.Node.Shards.Forwarding;
using Memo.Node.Shards.Wire;
using Memo.Node.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Memo.Node.Tests.Forwarding;

/// <summary>
/// <see cref="ShardForwarder"/> between nodes on one <see cref="InMemoryPeerNetwork"/>: calls matched to answers by
/// correlation id, the three fates (answered, not sent, no answer), no pending call left behind, the serving bound,
/// and malformed or forged input from a peer.
/// </summary>
public sealed class ShardForwarderTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly InMemoryPeerNetwork _network = new(seed: 7);
    private readonly List<Peer> _peers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var peer in _peers)
        {
            await peer.DisposeAsync();
        }
    }

    [Fact]
    public async Task Proposals_reads_and_status_are_answered_by_the_peers_handler()
    {
        var (a, b) = (Start(1), Start(2));

        var proposed = await a.Forwarder.ProposeAsync(b.Id, Propose(3), Wait, default);
        var read = await a.Forwarder.ReadAsync(b.Id, new ReadRequest { Format = 1, Shard = 1, EntryKey = "k" }, Wait, default);
        var status = await a.Forwarder.StatusAsync(b.Id, Wait, default);

        Assert.Equal((ForwardedCallFate.Answered, ShardReplyStatus.Applied), (proposed.Fate, proposed.Answer!.Status));
        Assert.Equal((ForwardedCallFate.Answered, "value of k"), (read.Fate, read.Answer!.Data.ToStringUtf8()));
        Assert.Equal(b.Id.Value, status!.Node);
        Assert.Equal([new ShardId(3)], b.Handler.Proposed);
        Assert.Equal(0, a.Forwarder.PendingCalls);
    }

    [Fact]
    public async Task An_async_proposal_gets_its_appended_answer_first_and_the_call_stays_open_for_the_final_one()
    {
        var (a, b) = (Start(1), Start(2));
        b.Handler.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = Propose(5);
        request.AcknowledgeAtAppend = true;

        var call = a.Forwarder.ProposeAsync(b.Id, request, Wait, default, appended);
        await appended.Task.WaitAsync(Wait);

        Assert.False(call.IsCompleted, "the call waits for its final answer after the early one");
        Assert.Equal(1, a.Forwarder.PendingCalls);
        b.Handler.Gate.SetResult();
        var final = await call.WaitAsync(Wait);
        Assert.Equal((ForwardedCallFate.Answered, ShardReplyStatus.Applied), (final.Fate, final.Answer!.Status));
        Assert.Equal(0, a.Forwarder.PendingCalls);
        Assert.Equal(0, a.Forwarder.UnmatchedAnswers);
    }

    [Fact]
    public async Task An_appended_answer_to_a_call_that_did_not_ask_for_one_is_dropped_and_the_call_takes_only_the_final_answer()
    {
        var (a, b) = (Start(1), Start(2));
        var request = Propose(6);
        request.AcknowledgeAtAppend = true; // the peer answers early, but this caller gives no signal to complete

        var call = await a.Forwarder.ProposeAsync(b.Id, request, Wait, default);

        Assert.Equal((ForwardedCallFate.Answered, ShardReplyStatus.Applied), (call.Fate, call.Answer!.Status));
        Assert.Equal(1, a.Forwarder.UnmatchedAnswers);
        Assert.Equal(0, a.Forwarder.PendingCalls);
    }

    [Fact]
    public async Task A_request_to_a_cut_link_or_a_node_without_address_is_not_sent_and_nothing_is_served()
    {
        var (a, b) = (Start(1), Start(2));
        _network.Block(a.Id, b.Id);

        var cut = await a.Forwarder.ProposeAsync(b.Id, Propose(0), Wait, default);
        var nowhere = await a.Forwarder.ProposeAsync(new NodeId(99), Propose(0), Wait, default);

        Assert.Equal(ForwardedCallFate.NotSent, cut.Fate);
        Assert.Equal(ForwardedCallFate.NotSent, nowhere.Fate);
        Assert.Empty(b.Handler.Proposed);
        Assert.Equal(0, a.Forwarder.PendingCalls);
    }

    [Fact]
    public async Task A_lost_answer_ends_the_call_with_no_answer_at_its_wait_though_the_peer_served_it()
    {
        var (a, b) = (Start(1), Start(2));
        _network.SetLoss(b.Id, a.Id, 1.0);

        var call = await a.Forwarder.ProposeAsync(b.Id, Propose(2), TimeSpan.FromMilliseconds(300), default);

        Assert.Equal(ForwardedCallFate.NoAnswer, call.Fate);
        Assert.Equal([new ShardId(2)], b.Handler.Proposed);
        Assert.Equal(0, a.Forwarder.PendingCalls);
    }

    [Fact]
    public async Task A_call_to_a_node_that_goes_down_while_serving_it_ends_with_no_answer_though_its_wait_is_endless()
    {
        var (a, b) = (Start(1), Start(2));
        b.Handler.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // An endless wait: only the end of the connection can finish this call (the test's own guard aside).
        var call = a.Forwarder.ProposeAsync(b.Id, Propose(4), Timeout.InfiniteTimeSpan, default);
        await Eventually(() => b.Forwarder.ServingNow == 1, "node 2 serving the proposal");
        await b.Transport.DisposeAsync(); // node 2 dies mid-call: its connections close

        var ended = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ForwardedCallFate.NoAnswer, ended.Fate);
        Assert.Equal(0, a.Forwarder.PendingCalls);
    }

    [Fact]
    public async Task A_cut_link_ends_no_call_before_its_wait_as_a_partition_closes_no_connection()
    {
        var (a, b) = (Start(1), Start(2));
        b.Handler.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var call = a.Forwarder.ProposeAsync(b.Id, Propose(5), Timeout.InfiniteTimeSpan, default);
        await Eventually(() => b.Forwarder.ServingNow == 1, "node 2 serving the proposal");
        _network.Partition(a.Id, b.Id);
        _network.Heal(a.Id, b.Id);
        b.Handler.Gate.SetResult();

        var answered = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((ForwardedCallFate.Answered, ShardReplyStatus.Applied), (answered.Fate, answered.Answer!.Status));
    }

    [Fact]
    public async Task A_cancelled_call_throws_and_leaves_no_pending_call_and_its_late_answer_is_dropped()
    {
        var (a, b) = (Start(1), Start(2));
        b.Handler.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = new CancellationTokenSource();

        var call = a.Forwarder.ProposeAsync(b.Id, Propose(1), Wait, cancel.Token);
        await Eventually(() => b.Forwarder.ServingNow == 1, "node 2 serving the proposal");
        Assert.Equal(1, a.Forwarder.PendingCalls);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(0, a.Forwarder.PendingCalls);
        b.Handler.Gate.SetResult();
        await Eventually(() => a.Forwarder.UnmatchedAnswers == 1, "the late answer dropped as unmatched");
        Assert.Equal(0, a.Forwarder.PendingCalls);
    }

    [Fact]
    public async Task Requests_beyond_the_serving_bound_are_answered_dropped_at_once()
    {
        var a = Start(1);
        var b = Start(2, new ShardForwarderOptions { MaxServedConcurrently = 2 });
        b.Handler.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = a.Forwarder.ProposeAsync(b.Id, Propose(0), Wait, default);
        var second = a.Forwarder.ProposeAsync(b.Id, Propose(1), Wait, default);
        await Eventually(() => b.Forwarder.ServingNow == 2, "node 2 serving two proposals");
        var third = await a.Forwarder.ProposeAsync(b.Id, Propose(2), Wait, default);

        Assert.Equal((ForwardedCallFate.Answered, ShardReplyStatus.Dropped), (third.Fate, third.Answer!.Status));
        Assert.Equal(1, b.Forwarder.RefusedOverLimit);
        b.Handler.Gate.SetResult();
        Assert.Equal(ShardReplyStatus.Applied, (await first).Answer!.Status);
        Assert.Equal(ShardReplyStatus.Applied, (await second).Answer!.Status);
        Assert.Equal(0, b.Forwarder.ServingNow);
    }

    [Fact]
    public async Task Malformed_envelopes_from_a_peer_are_counted_and_the_forwarder_keeps_serving()
    {
        var (a, b) = (Start(1), Start(2));

        a.Transport.Send(b.Id, b.Address, PeerMessage.Forwarding(new byte[] { 0xFF, 0xFF, 0xFF }));
        a.Transport.Send(b.Id, b.Address, PeerMessage.Forwarding(new ForwardingEnvelope { Format = 1, Call = 77 }.ToByteArray()));
        a.Transport.Send(b.Id, b.Address, PeerMessage.Forwarding(new ForwardingEnvelope { Format = 9, Call = 78, Status = new ReplicaStatusRequest() }.ToByteArray()));
        a.Transport.Send(b.Id, b.Address, PeerMessage.Forwarding(new ForwardingEnvelope
        {
            Format = 1, Call = 79, Propose = new ProposeRequest { Shard = 0, Command = ByteString.CopyFrom(0xFF, 0xFF) },
        }.ToByteArray()));
        var after = await a.Forwarder.ProposeAsync(b.Id, Propose(0), Wait, default);
        var unknownShard = await a.Forwarder.ProposeAsync(b.Id, new ProposeRequest { Format = 1, Shard = 64, Command = Command().ToByteString() }, Wait, default);

        Assert.Equal(ShardReplyStatus.Applied, after.Answer!.Status);
        Assert.Equal(ShardReplyStatus.Invalid, unknownShard.Answer!.Status);
        Assert.Contains("no shard 64", unknownShard.Answer.Reason, StringComparison.Ordinal);
        // Garbage is dropped; an envelope with no request and one of an unknown format are answered INVALID (dropped by
        // node 1 as it asked nothing under those ids); a command that does not parse is answered INVALID too.
        Assert.Equal(3, b.Forwarder.MalformedReceived);
        await Eventually(() => a.Forwarder.UnmatchedAnswers == 3, "three unasked answers dropped by node 1");
        Assert.Equal([new ShardId(0)], b.Handler.Proposed);
    }

    [Fact]
    public async Task An_answer_from_a_node_that_was_not_asked_does_not_complete_the_call()
    {
        var (a, b, c) = (Start(1), Start(2), Start(3));
        b.Handler.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var call = a.Forwarder.ProposeAsync(b.Id, Propose(0), Wait, default);
        await Eventually(() => b.Forwarder.ServingNow == 1, "node 2 serving the proposal");
        // Node 3 guesses the call id (node 1 numbers its calls from 1) and answers first, with a forged result.
        c.Transport.Send(a.Id, a.Address, PeerMessage.Forwarding(new ForwardingEnvelope
        {
            Format = 1, Call = 1, ProposeReply = new ProposeReply { Status = ShardReplyStatus.Invalid, Reason = "forged" },
        }.ToByteArray()));
        await Eventually(() => a.Forwarder.UnmatchedAnswers == 1, "the forged answer dropped");
        b.Handler.Gate.SetResult();

        Assert.Equal(ShardReplyStatus.Applied, (await call).Answer!.Status);
    }

    [Fact]
    public async Task Stopping_the_forwarder_ends_calls_in_flight_with_no_answer_and_later_calls_are_not_sent()
    {
        var (a, b) = (Start(1), Start(2));
        b.Handler.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var call = a.Forwarder.ProposeAsync(b.Id, Propose(0), Wait, default);
        await Eventually(() => b.Forwarder.ServingNow == 1, "node 2 serving the proposal");

        await a.Forwarder.DisposeAsync();
        await b.Forwarder.DisposeAsync();

        Assert.Equal(ForwardedCallFate.NoAnswer, (await call).Fate);
        Assert.Equal(ForwardedCallFate.NotSent, (await a.Forwarder.ProposeAsync(b.Id, Propose(0), Wait, default)).Fate);
        Assert.Equal(0, b.Forwarder.ServingNow);
    }

    [Fact]
    public async Task A_copy_larger_than_a_part_travels_in_parts_and_the_handler_gets_it_whole_in_one_array()
    {
        var (a, b) = (Start(1), Start(2));
        var copy = new byte[3 * ShardForwarder.CopyPartBytes + 123];
        new Random(11).NextBytes(copy);

        var call = await a.Forwarder.StoreCopyAsync(b.Id, new StoreCopyRequest { Shard = 4, Block = ByteString.CopyFrom(copy) }, Wait, default);

        Assert.Equal((ForwardedCallFate.Answered, CopyStatus.Stored), (call.Fate, call.Answer!.Status));
        var served = Assert.Single(b.Handler.Copies);
        Assert.Equal((4u, 0ul), (served.Shard, served.Transfer));
        Assert.Equal(copy, served.Block.ToByteArray());
        // The whole copy in one array of its size, which the silo can keep without copying it.
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(served.Block.Memory, out var array));
        Assert.Equal((0, copy.Length, copy.Length), (array.Offset, array.Count, array.Array!.Length));
        Assert.Equal((0, 0L), (b.Forwarder.CopyTransfersInProgress, b.Forwarder.CopyPartsRefused));
        // Three parts, then the request with the last one, then the answer.
        Assert.Equal(4, a.Transport.GetLinkStats(b.Id)!.Sent);
    }

    [Fact]
    public async Task A_copy_with_a_part_missing_is_answered_dropped_leaves_nothing_behind_and_the_next_copy_is_stored()
    {
        var (a, b) = (Start(1), Start(2));
        var copy = new byte[300];
        new Random(12).NextBytes(copy);
        // Transfer 5: the part at 0, the one at 100 lost on the way, then the request with the last 100 bytes.
        a.Transport.Send(b.Id, b.Address, PeerMessage.Forwarding(new ForwardingEnvelope
        {
            Format = 1, CopyPart = new CopyPart { Transfer = 5, Offset = 0, Total = 300, Data = ByteString.CopyFrom(copy, 0, 100) },
        }.ToByteArray()));

        var gap = await a.Forwarder.StoreCopyAsync(b.Id, new StoreCopyRequest { Shard = 1, Transfer = 5, Block = ByteString.CopyFrom(copy, 200, 100) }, Wait, default);
        var next = await a.Forwarder.StoreCopyAsync(b.Id, new StoreCopyRequest { Shard = 1, Block = ByteString.CopyFrom(new byte[ShardForwarder.CopyPartBytes + 1]) }, Wait, default);

        Assert.Equal((ForwardedCallFate.Answered, CopyStatus.Dropped), (gap.Fate, gap.Answer!.Status));
        Assert.Contains("ends with 200 of its 300 bytes", gap.Answer.Reason, StringComparison.Ordinal);
        Assert.Equal(CopyStatus.Stored, next.Answer!.Status);
        Assert.Equal(ShardForwarder.CopyPartBytes + 1, Assert.Single(b.Handler.Copies).Block.Length);
        Assert.Equal((0, 1L), (b.Forwarder.CopyTransfersInProgress, b.Forwarder.CopyPartsRefused));
    }

    [Fact]
    public async Task A_copy_over_the_message_limit_is_too_large_and_nothing_is_sent()
    {
        var a = Start(1, new ShardForwarderOptions { MaxMessageBytes = 100_000 });
        var b = Start(2);

        var call = await a.Forwarder.StoreCopyAsync(b.Id, new StoreCopyRequest { Shard = 1, Block = ByteString.CopyFrom(new byte[100_001]) }, Wait, default);

        Assert.Equal(ForwardedCallFate.TooLarge, call.Fate);
        Assert.Equal(0, a.Transport.GetLinkStats(b.Id)?.Sent ?? 0);
        Assert.Empty(b.Handler.Copies);
    }

    private static ShardCommand Command() => new() { Format = 1, DeleteEntry = new DeleteEntry { Key = "k" } };

    private static ProposeRequest Propose(int shard) => new() { Format = 1, Shard = (uint)shard, Command = Command().ToByteString() };

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(5);
        }
    }

    private Peer Start(int id, ShardForwarderOptions? options = null)
    {
        var peer = new Peer(_network, new NodeId((ulong)id), options ?? new ShardForwarderOptions());
        _peers.Add(peer);
        return peer;
    }

    private sealed class Peer : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _pump;

        public Peer(InMemoryPeerNetwork network, NodeId id, ShardForwarderOptions options)
        {
            Id = id;
            Address = AddressOf(id);
            Transport = network.CreateTransport(id, Address);
            Forwarder = new ShardForwarder(Transport, AddressOf, options, NullLogger<ShardForwarder>.Instance);
            Forwarder.ServeWith(Handler);
            _pump = PumpAsync();
        }

        public NodeId Id { get; }

        public string Address { get; }

        public InMemoryPeerTransport Transport { get; }

        public ShardForwarder Forwarder { get; }

        public FakeHandler Handler { get; } = new();

        public async ValueTask DisposeAsync()
        {
            Handler.Gate?.TrySetResult();
            await Forwarder.DisposeAsync();
            await Transport.DisposeAsync();
            await _stop.CancelAsync();
            await _pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        private static string AddressOf(NodeId node) => $"memory/{node.Value}";

        // The node's inbound pump, as MemoNode runs it.
        private async Task PumpAsync()
        {
            await foreach (var message in Transport.Inbound.ReadAllAsync(_stop.Token))
            {
                if (message.Message.Channel == PeerChannelKind.Forwarding)
                {
                    Forwarder.Receive(message);
                }
            }
        }
    }

    private sealed class FakeHandler : IForwardedCallHandler
    {
        private readonly Lock _lock = new();
        private readonly List<ShardId> _proposed = [];
        private readonly List<StoreCopyRequest> _copies = [];

        public TaskCompletionSource? Gate { get; set; }

        public List<ShardId> Proposed
        {
            get
            {
                lock (_lock)
                {
                    return [.. _proposed];
                }
            }
        }

        public ShardLayout Layout { get; } = new(64);

        public async Task<ProposeReply> ServeProposeAsync(ShardId shard, ShardCommand command, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _proposed.Add(shard);
            }
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(cancellationToken);
            }
            return new ProposeReply { Status = ShardReplyStatus.Applied, Result = new ShardResultMessage { Kind = ShardResultKind.EntryDeleted } };
        }

        // An async write: APPENDED at once, the final answer when the gate opens (as ServeProposeAsync).
        public ServedProposal ServeProposeAcknowledgedAtAppend(ShardId shard, ShardCommand command, CancellationToken cancellationToken) =>
            new(Task.FromResult(new ProposeReply { Status = ShardReplyStatus.Appended }), ServeProposeAsync(shard, command, cancellationToken));

        public Task<ReadReply> ServeReadAsync(ReadRequest request, CancellationToken cancellationToken) =>
            Task.FromResult(new ReadReply { Status = ShardReplyStatus.ReadDone, Found = true, Data = ByteString.CopyFromUtf8("value of " + request.EntryKey) });

        public ReplicaStatusReply ServeStatus() => new() { Node = 2 };

        public List<StoreCopyRequest> Copies
        {
            get
            {
                lock (_lock)
                {
                    return [.. _copies];
                }
            }
        }

        public Task<StoreCopyReply> ServeStoreCopyAsync(StoreCopyRequest request, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _copies.Add(request);
            }
            return Task.FromResult(new StoreCopyReply { Status = CopyStatus.Stored });
        }
    }
}
