namespace Memo.Node.Shards.Forwarding;

/// <summary>What became of one call forwarded to another node.</summary>
public enum ForwardedCallFate
{
    /// <summary>The node answered; the answer is in <see cref="ForwardedCall{T}.Answer"/>.</summary>
    Answered = 0,

    /// <summary>The request certainly never left this node (no address for the node, its link known down or refused, the
    /// queue full, the forwarder stopped): nothing was done there, so any request may be retried elsewhere.</summary>
    NotSent = 1,

    /// <summary>The request left but no answer came within the wait, or the connection it left on ended first (lost
    /// on the way there or back, or the node is slow or gone): it may or may not have been served.</summary>
    NoAnswer = 2,

    /// <summary>The request is larger than one peer message may be; it was not sent and never can be.</summary>
    TooLarge = 3,
}

/// <summary>The outcome of one forwarded call: its fate and, when answered, the answer.</summary>
/// <typeparam name="T">The answer's message type.</typeparam>
/// <param name="Fate">What became of the call.</param>
/// <param name="Answer">The answer when <paramref name="Fate"/> is <see cref="ForwardedCallFate.Answered"/>; else null.</param>
public readonly record struct ForwardedCall<T>(ForwardedCallFate Fate, T? Answer)
    where T : class;
