namespace Memo.Node.Api.Hosting;

/// <summary>How request messages are held while they arrive: the shared budget, how long a message may wait for
/// it, and the data rate a message holding budget must keep up.</summary>
/// <param name="Budget">The bytes every call's buffered messages share.</param>
/// <param name="Wait">How long a message may wait for budget before its call ends RESOURCE_EXHAUSTED.</param>
/// <param name="MinDataRate">Bytes per second a message holding budget must keep arriving at: at least this times
/// <paramref name="GracePeriod"/> bytes in every grace period; 0: no minimum.</param>
/// <param name="GracePeriod">The period over which a message's progress is checked.</param>
/// <param name="Time">The clock.</param>
internal sealed record RequestBufferLimits(RequestBufferBudget Budget, TimeSpan Wait, long MinDataRate, TimeSpan GracePeriod, TimeProvider Time);
