using System.Collections.Immutable;

namespace Memo.Node.Configuration;

/// <summary>What <c>dotnet Memo.Node.dll</c> was asked to do, as decided by <see cref="NodeCommandLine.Parse"/>.
/// A closed set: <see cref="Run"/>, <see cref="Help"/>, <see cref="Version"/> or <see cref="UsageError"/>.</summary>
public abstract record NodeCommand
{
    private NodeCommand()
    {
    }

    /// <summary>Start the node with configuration from <paramref name="ConfigFile"/> (when given) and
    /// <paramref name="Overrides"/> (HOCON snippets, applied in order after the file).</summary>
    public sealed record Run(string? ConfigFile, ImmutableArray<string> Overrides) : NodeCommand
    {
        /// <summary>Loads and validates the options (defaults, file, overrides); throws
        /// <see cref="MemoConfigurationException"/> listing every problem.</summary>
        public MemoOptions LoadOptions() => MemoOptions.Load(ConfigFile, Overrides);

        /// <summary>Compares the overrides by content, not by array identity.</summary>
        public bool Equals(Run? other) =>
            other is not null && ConfigFile == other.ConfigFile && Overrides.SequenceEqual(other.Overrides);

        /// <inheritdoc />
        public override int GetHashCode() => HashCode.Combine(ConfigFile, Overrides.Length);
    }

    /// <summary>Print <paramref name="Text"/> (the usage) and exit successfully.</summary>
    public sealed record Help(string Text) : NodeCommand;

    /// <summary>Print <paramref name="Text"/> (the version) and exit successfully.</summary>
    public sealed record Version(string Text) : NodeCommand;

    /// <summary>The arguments are wrong: print <paramref name="Message"/> and the usage to stderr, exit with 2.</summary>
    public sealed record UsageError(string Message) : NodeCommand
    {
        /// <summary>The message followed by the usage text, ready for stderr.</summary>
        public string Text => Message + Environment.NewLine + Environment.NewLine + NodeCommandLine.Usage;
    }
}
