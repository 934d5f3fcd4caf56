namespace Memo.Node.Configuration;

/// <summary>
/// The node's configuration cannot be used: a file is missing or does not parse, a key is unknown, missing or of
/// the wrong type, or a value breaks a rule. Carries every problem found, so one start-up attempt shows them all.
/// </summary>
public sealed class MemoConfigurationException : Exception
{
    /// <summary>Creates the exception for one or more problems.</summary>
    public MemoConfigurationException(IReadOnlyList<string> problems)
        : base(Describe(problems))
    {
        Problems = problems;
    }

    /// <summary>One line per problem, each naming the key path or source position and the rule broken.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Describe(IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentOutOfRangeException.ThrowIfZero(problems.Count);
        var noun = problems.Count == 1 ? "problem" : "problems";
        return $"invalid configuration ({problems.Count} {noun}):" + Environment.NewLine +
               string.Join(Environment.NewLine, problems.Select(p => "  - " + p));
    }
}
