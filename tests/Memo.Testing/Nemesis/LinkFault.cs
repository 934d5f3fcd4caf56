namespace Memo.Testing.Nemesis;

/// <summary>
/// What happens to the bytes one node sends another (one direction of a link) in the <see cref="LinkProxy"/>.
/// </summary>
/// <remarks>
/// TCP shapes what a proxy can honestly do. It cannot drop or duplicate bytes inside a stream: Akka's frames would be
/// cut in half and the stream corrupted. So a cut holds the bytes (the connection stays open, as TCP keeps retransmitting
/// through a partition) and they arrive when it heals; packet loss appears to an application as a retransmission stall
/// (head-of-line blocking), modelled as <see cref="StallChance"/>; losing what is in flight is a connection reset
/// (<see cref="LinkProxy.Reset"/>), after which Akka reconnects and redelivers only its acknowledged system messages.
/// </remarks>
/// <param name="Cut">Nothing is delivered while set; bytes wait in the proxy and the sender's buffers.</param>
/// <param name="Delay">Added to every chunk's delivery.</param>
/// <param name="Jitter">Up to this much more, drawn per chunk (order is kept: a chunk never overtakes the one before).</param>
/// <param name="StallChance">Chance per chunk of a retransmission stall of <see cref="Stall"/>.</param>
/// <param name="Stall">Length of one stall.</param>
public sealed record LinkFault(bool Cut, TimeSpan Delay, TimeSpan Jitter, double StallChance, TimeSpan Stall)
{
    /// <summary>A healthy link.</summary>
    public static LinkFault None { get; } = new(false, TimeSpan.Zero, TimeSpan.Zero, 0, TimeSpan.Zero);

    /// <summary>A cut link.</summary>
    public static LinkFault Severed { get; } = None with { Cut = true };

    /// <summary>True when the link is healthy.</summary>
    public bool IsNone => this == None;

    /// <inheritdoc />
    public override string ToString() => Cut ? "cut"
        : $"delay {Delay.TotalMilliseconds:0}+{Jitter.TotalMilliseconds:0} ms, stall {StallChance:P0} x {Stall.TotalMilliseconds:0} ms";
}
