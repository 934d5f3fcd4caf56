using System.Runtime.CompilerServices;

namespace Memo.Node.Raft;

/// <summary>
/// A Raft safety invariant was violated (corrupt storage, a bug, or a misbehaving host). The replica must stop:
/// continuing could acknowledge or apply data inconsistently. Never caught inside the core.
/// </summary>
public sealed class RaftInvariantException : Exception
{
    /// <summary>Creates the exception with a description of the violated invariant.</summary>
    public RaftInvariantException(string message) : base("Raft invariant violated: " + message)
    {
    }

    /// <summary>Throws when <paramref name="violated"/> is true.</summary>
    public static void ThrowIf(bool violated, string message)
    {
        if (violated)
        {
            throw new RaftInvariantException(message);
        }
    }

    /// <summary>
    /// Throws when <paramref name="violated"/> is true, with an interpolated message that is formatted only then: these
    /// checks run on every turn and every applied entry, where formatting each message would allocate a string per call.
    /// </summary>
    public static void ThrowIf(bool violated, [InterpolatedStringHandlerArgument(nameof(violated))] ref ViolationMessage message)
    {
        if (violated)
        {
            throw new RaftInvariantException(message.ToStringAndClear());
        }
    }

    /// <summary>The message of <see cref="ThrowIf(bool, ref ViolationMessage)"/>: built only when the check failed.</summary>
    [InterpolatedStringHandler]
    public ref struct ViolationMessage
    {
        private DefaultInterpolatedStringHandler _inner;

        /// <summary>Starts the message; <paramref name="shouldAppend"/> is false (nothing is formatted) when the check passed.</summary>
        public ViolationMessage(int literalLength, int formattedCount, bool violated, out bool shouldAppend)
        {
            _inner = violated ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
            shouldAppend = violated;
        }

        /// <summary>Appends a literal part.</summary>
        public void AppendLiteral(string value) => _inner.AppendLiteral(value);

        /// <summary>Appends a formatted part.</summary>
        public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

        /// <summary>The message built.</summary>
        public string ToStringAndClear() => _inner.ToStringAndClear();
    }
}
