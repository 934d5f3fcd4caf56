using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using Grpc.Core;
using Memo.Node.Api.Hosting;

namespace Memo.Node.Tests.Api;

/// <summary>The shared request buffering budget, the budgeted body reader over a pipe, and the per-address connection count.</summary>
public sealed class RequestBufferingTests
{
    private static byte[] Message(int declared, int present)
    {
        var bytes = new byte[5 + present];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)declared);
        return bytes;
    }

    private static RequestBufferLimits Limits(RequestBufferBudget budget, TimeSpan? wait = null, long rate = 0, TimeSpan? grace = null) =>
        new(budget, wait ?? TimeSpan.FromMilliseconds(100), rate, grace ?? TimeSpan.FromSeconds(5), TimeProvider.System);

    [Fact]
    public async Task A_message_reserves_its_declared_length_when_its_prefix_arrives_and_gives_it_back_once_consumed()
    {
        var budget = new RequestBufferBudget(10_000);
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget));

        await pipe.Writer.WriteAsync(Message(1000, 10));
        var first = await reader.ReadAsync();
        Assert.Equal(1005, budget.Reserved);
        reader.AdvanceTo(first.Buffer.Start, first.Buffer.End); // incomplete: nothing consumed

        await pipe.Writer.WriteAsync(new byte[990]);
        var whole = await reader.ReadAsync();
        Assert.Equal(1005, whole.Buffer.Length);
        Assert.Equal(1005, budget.Reserved);
        reader.AdvanceTo(whole.Buffer.End);
        Assert.Equal(0, budget.Reserved);
    }

    [Fact]
    public async Task A_message_that_finds_no_room_in_time_ends_resource_exhausted_without_its_body_being_examined()
    {
        var budget = new RequestBufferBudget(2000);
        Assert.True(await budget.TryReserveAsync(1500, TimeSpan.Zero, CancellationToken.None));
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget, TimeSpan.FromMilliseconds(50)));

        await pipe.Writer.WriteAsync(Message(1000, 100));
        var e = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync());

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("memo.grpc.request-buffer-budget", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1500, budget.Reserved);
        // Nothing was consumed or examined: the data is still there for whoever reads next.
        Assert.True(pipe.Reader.TryRead(out var left));
        Assert.Equal(105, left.Buffer.Length);
    }

    [Fact]
    public async Task A_message_waiting_for_room_proceeds_when_another_call_gives_budget_back()
    {
        var budget = new RequestBufferBudget(2000);
        Assert.True(await budget.TryReserveAsync(1500, TimeSpan.Zero, CancellationToken.None));
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget, TimeSpan.FromSeconds(30)));

        await pipe.Writer.WriteAsync(Message(1000, 500));
        var read = reader.ReadAsync().AsTask();
        await Task.Delay(50);
        Assert.False(read.IsCompleted, "the read went ahead without budget");
        budget.Release(1500);

        var result = await read.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(505, result.Buffer.Length);
        Assert.Equal(1005, budget.Reserved);
    }

    [Fact]
    public async Task Several_messages_consumed_from_one_buffer_keep_the_framing_and_reserve_the_next_prefix()
    {
        var budget = new RequestBufferBudget(10_000);
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget));

        // Two whole messages and the start of a third: the whole ones need no budget, the framing follows them.
        await pipe.Writer.WriteAsync(Message(10, 10).Concat(Message(10, 10)).Concat(Message(50, 3)).ToArray());
        var three = await reader.ReadAsync();
        Assert.Equal(0, budget.Reserved);
        var afterTwo = three.Buffer.GetPosition(30);
        reader.AdvanceTo(afterTwo, afterTwo); // a consumer taking the two whole ones at once
        var third = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(55, budget.Reserved); // the third message's prefix now starts the unread data
        await pipe.Writer.WriteAsync(new byte[47]);
        reader.AdvanceTo(third.Buffer.Start, third.Buffer.End);
        var thirdWhole = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(55, thirdWhole.Buffer.Length);
        reader.AdvanceTo(thirdWhole.Buffer.End);
        Assert.Equal(0, budget.Reserved);

        await pipe.Writer.WriteAsync(Message(100, 3));
        var next = await reader.ReadAsync();
        Assert.Equal(105, budget.Reserved);
        reader.AdvanceTo(next.Buffer.Start, next.Buffer.End);
        reader.ReleaseHeld(); // the call ends with the message unfinished
        Assert.Equal(0, budget.Reserved);
    }

    [Fact]
    public async Task A_small_message_that_arrived_whole_goes_ahead_without_budget_but_a_large_one_still_waits_for_it()
    {
        var budget = new RequestBufferBudget(1 << 20);
        Assert.True(await budget.TryReserveAsync(1 << 20, TimeSpan.Zero, CancellationToken.None)); // no room at all

        var smallPipe = new Pipe();
        var small = new BudgetedRequestReader(smallPipe.Reader, Limits(budget, TimeSpan.FromMilliseconds(50)));
        await smallPipe.Writer.WriteAsync(Message(1000, 1000));
        var read = await small.ReadAsync();
        Assert.Equal(1005, read.Buffer.Length);
        Assert.Equal(0, small.Held);
        small.AdvanceTo(read.Buffer.End);

        var largePipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0)); // the whole message in, unread
        var large = new BudgetedRequestReader(largePipe.Reader, Limits(budget, TimeSpan.FromMilliseconds(50)));
        var declared = BudgetedRequestReader.WholeMessageThreshold; // with its prefix, one byte over the threshold
        await largePipe.Writer.WriteAsync(Message(declared, declared));
        var e = await Assert.ThrowsAsync<RpcException>(async () => await large.ReadAsync());
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal(1 << 20, budget.Reserved);
    }

    [Fact]
    public async Task A_message_larger_than_the_whole_budget_is_left_to_the_message_size_limit()
    {
        var budget = new RequestBufferBudget(1000);
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget));

        await pipe.Writer.WriteAsync(Message(1 << 30, 10));
        var result = await reader.ReadAsync();
        Assert.Equal(15, result.Buffer.Length);
        Assert.Equal(0, budget.Reserved);
    }

    [Fact]
    public async Task A_message_that_stalls_while_holding_budget_is_cut_and_gives_its_budget_back()
    {
        var budget = new RequestBufferBudget(10_000);
        var pipe = new Pipe();
        // 1,000 bytes/s over periods of 300 ms: 300 more bytes every period, or the call ends.
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget, rate: 1000, grace: TimeSpan.FromMilliseconds(300)));

        await pipe.Writer.WriteAsync(Message(5000, 400));
        var first = await reader.ReadAsync();
        reader.AdvanceTo(first.Buffer.Start, first.Buffer.End);
        await pipe.Writer.WriteAsync(new byte[400]); // keeps up once
        var second = await reader.ReadAsync();
        reader.AdvanceTo(second.Buffer.Start, second.Buffer.End);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("stalled", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, budget.Reserved);
    }

    [Fact]
    public async Task A_single_message_body_that_sends_nothing_is_cut_after_one_grace_period()
    {
        var budget = new RequestBufferBudget(10_000);
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget, rate: 1000, grace: TimeSpan.FromMilliseconds(300)), timeQuiet: true);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("no message prefix or end of body", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_single_message_body_that_stops_inside_its_prefix_is_cut()
    {
        var budget = new RequestBufferBudget(10_000);
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget, rate: 1000, grace: TimeSpan.FromMilliseconds(300)), timeQuiet: true);

        // 3 of the prefix's 5 bytes, examined and left unconsumed (as Grpc.AspNetCore leaves an incomplete message).
        await pipe.Writer.WriteAsync(new byte[3]);
        var partial = await reader.ReadAsync();
        Assert.Equal(3, partial.Buffer.Length);
        reader.AdvanceTo(partial.Buffer.Start, partial.Buffer.End);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public async Task A_single_message_body_whose_end_does_not_follow_its_message_is_cut()
    {
        var budget = new RequestBufferBudget(10_000);
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget, rate: 1000, grace: TimeSpan.FromMilliseconds(300)), timeQuiet: true);

        // A whole small message arrives and is consumed (as Grpc.AspNetCore does), then the body never ends.
        await pipe.Writer.WriteAsync(Message(10, 10));
        var message = await reader.ReadAsync();
        Assert.Equal(15, message.Buffer.Length);
        reader.AdvanceTo(message.Buffer.End);

        var e = await Assert.ThrowsAsync<RpcException>(async () => await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal(0, budget.Reserved);
    }

    [Fact]
    public async Task A_single_message_body_whose_data_arrives_within_the_grace_period_is_read_whole()
    {
        var budget = new RequestBufferBudget(10_000);
        var pipe = new Pipe();
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget, rate: 1000, grace: TimeSpan.FromSeconds(30)), timeQuiet: true);

        var read = reader.ReadAsync().AsTask();
        await pipe.Writer.WriteAsync(Message(10, 10));
        var message = await read.WaitAsync(TimeSpan.FromSeconds(10));
        reader.AdvanceTo(message.Buffer.End);
        var end = reader.ReadAsync().AsTask();
        await pipe.Writer.CompleteAsync();
        Assert.True((await end.WaitAsync(TimeSpan.FromSeconds(10))).IsCompleted);
    }

    [Fact]
    public async Task A_stream_idle_between_messages_is_not_timed()
    {
        var budget = new RequestBufferBudget(10_000);
        var pipe = new Pipe();
        // A client- or duplex-streaming body (timeQuiet off): waiting for the next message is not a stall.
        var reader = new BudgetedRequestReader(pipe.Reader, Limits(budget, rate: 1000, grace: TimeSpan.FromMilliseconds(100)));

        var read = reader.ReadAsync().AsTask();
        await Task.Delay(500);
        Assert.False(read.IsCompleted, "an idle stream's read ended");
        await pipe.Writer.WriteAsync(Message(10, 10));
        Assert.Equal(15, (await read.WaitAsync(TimeSpan.FromSeconds(10))).Buffer.Length);
    }

    [Fact]
    public async Task The_budget_serves_waiters_first_come_first_served_and_drops_those_that_give_up()
    {
        var budget = new RequestBufferBudget(10);
        Assert.True(await budget.TryReserveAsync(8, TimeSpan.Zero, CancellationToken.None));
        var large = budget.TryReserveAsync(5, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        // 2 bytes are free, but a waiter came first: no overtaking.
        var small = budget.TryReserveAsync(2, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        Assert.False(await budget.TryReserveAsync(1, TimeSpan.Zero, CancellationToken.None));
        await Task.Delay(20);
        Assert.False(large.IsCompleted || small.IsCompleted);

        budget.Release(8);
        Assert.True(await large.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await small.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(7, budget.Reserved);

        // A waiter that gives up leaves the queue, letting the one behind it in.
        var tooLarge = budget.TryReserveAsync(9, TimeSpan.FromMilliseconds(50), CancellationToken.None).AsTask();
        var behind = budget.TryReserveAsync(3, TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        Assert.False(await tooLarge);
        Assert.True(await behind.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(10, budget.Reserved);
        Assert.False(await budget.TryReserveAsync(11, TimeSpan.FromSeconds(30), CancellationToken.None)); // never fits
        Assert.Throws<InvalidOperationException>(() => budget.Release(11));
    }

    [Fact]
    public void Connections_count_per_address_with_IPv6_per_64_and_IPv4_mapped_as_IPv4()
    {
        var count = new ConnectionsPerAddress(2);
        Assert.True(count.TryAdd(IPAddress.Parse("10.0.0.1"), out var first));
        Assert.True(count.TryAdd(IPAddress.Parse("::ffff:10.0.0.1"), out var mapped));
        Assert.Equal(first, mapped);
        Assert.False(count.TryAdd(IPAddress.Parse("10.0.0.1"), out _));
        Assert.True(count.TryAdd(IPAddress.Parse("10.0.0.2"), out _));
        count.Remove(first);
        Assert.True(count.TryAdd(IPAddress.Parse("10.0.0.1"), out _));

        Assert.True(count.TryAdd(IPAddress.Parse("2001:db8:1:2::1"), out var v6));
        Assert.True(count.TryAdd(IPAddress.Parse("2001:db8:1:2:ffff::9"), out _));
        Assert.False(count.TryAdd(IPAddress.Parse("2001:db8:1:2:abcd::7"), out _)); // same /64
        Assert.True(count.TryAdd(IPAddress.Parse("2001:db8:1:3::1"), out _)); // another /64
        Assert.Equal(2, count.OpenFrom(IPAddress.Parse("2001:db8:1:2::42")));
        Assert.Equal(IPAddress.Parse("2001:db8:1:2::"), v6);
    }
}
