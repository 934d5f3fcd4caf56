namespace Memo.Protocol.Users;

/// <summary>What a passport grant allows; the bits of <c>PassportGrant.rights</c> (persisted: never renumbered).</summary>
[Flags]
public enum PassportRights : uint
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>Read keys (Fetch, List, ListVersions) and blocks.</summary>
    Read = 1,

    /// <summary>Write and delete keys and blocks.</summary>
    Write = 2,

    /// <summary>Run a node of the network.</summary>
    Storage = 4,

    /// <summary>Issue passports (a delegate), granting at most what it holds itself.</summary>
    Sign = 8,

    /// <summary>Revoke passports.</summary>
    Admin = 16,
}

/// <summary>Parsing and printing of <see cref="PassportRights"/> as <c>read,write</c>.</summary>
public static class PassportRightsText
{
    private static readonly (string Name, PassportRights Right)[] Names =
    [
        ("read", PassportRights.Read), ("write", PassportRights.Write), ("storage", PassportRights.Storage),
        ("sign", PassportRights.Sign), ("admin", PassportRights.Admin),
    ];

    /// <summary>The rights network-wide only (a grant with a prefix may not carry them).</summary>
    public const PassportRights NetworkWide = PassportRights.Storage | PassportRights.Sign | PassportRights.Admin;

    /// <summary>Every right.</summary>
    public const PassportRights All = PassportRights.Read | PassportRights.Write | NetworkWide;

    /// <summary>Parses a comma-separated list (<c>read,write</c>); false with the offending word otherwise.</summary>
    public static bool TryParse(string text, out PassportRights rights, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        rights = PassportRights.None;
        problem = null;
        foreach (var word in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var found = Array.FindIndex(Names, n => string.Equals(n.Name, word, StringComparison.OrdinalIgnoreCase));
            if (found < 0)
            {
                problem = $"'{word}' is not a right (read, write, storage, sign, admin)";
                return false;
            }
            rights |= Names[found].Right;
        }
        if (rights == PassportRights.None)
        {
            problem = "no right given (read, write, storage, sign, admin)";
            return false;
        }
        return true;
    }

    /// <summary>The rights as <c>read,write</c> (<c>none</c> for none).</summary>
    public static string Format(PassportRights rights)
    {
        var words = Names.Where(n => rights.HasFlag(n.Right)).Select(n => n.Name).ToArray();
        return words.Length == 0 ? "none" : string.Join(',', words);
    }
}
