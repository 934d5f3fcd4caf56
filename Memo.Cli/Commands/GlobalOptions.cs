using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using Memo.Cli.Input;

namespace Memo.Cli.Commands;

/// <summary>The options every command accepts, before or after its name: <c>--node</c>, <c>--json</c>, <c>--timeout</c>.</summary>
internal sealed class GlobalOptions
{
    /// <summary>Where a node listens unless <c>--node</c> or <c>MEMO_NODE</c> says otherwise.</summary>
    public const string DefaultNode = "127.0.0.1:5090";

    /// <summary>The environment variable that replaces <see cref="DefaultNode"/>.</summary>
    public const string NodeVariable = "MEMO_NODE";

    /// <summary>The environment variable that gives <c>--ca</c>.</summary>
    public const string CaVariable = "MEMO_CA";

    /// <summary>The per-call time limit unless <c>--timeout</c> says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public GlobalOptions(Func<string, string?> getEnvironmentVariable)
    {
        Node = new Option<string>("--node")
        {
            Description = $"The node to talk to; ${NodeVariable} replaces the default {DefaultNode}",
            HelpName = "host:port",
            Recursive = true,
            DefaultValueFactory = _ => getEnvironmentVariable(NodeVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultNode,
        };
        Node.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (string.IsNullOrWhiteSpace(value))
            {
                result.AddError("--node needs host:port");
            }
        });
        Json = new Option<bool>("--json")
        {
            Description = "Machine output: one JSON object per result, errors as JSON on standard error",
            Recursive = true,
        };
        Ca = new Option<string?>("--ca")
        {
            Description = $"The network CA certificate (PEM): talk TLS to the node and trust only certificates it issued; ${CaVariable} replaces the default (none)",
            HelpName = "file",
            Recursive = true,
            DefaultValueFactory = _ => getEnvironmentVariable(CaVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null,
        };
        Timeout = DurationOption("--timeout", DefaultTimeout, "Time limit of each call to the node (e.g. 500ms, 30s, 2m)");
        Timeout.Recursive = true;
        As = new Option<string?>("--as")
        {
            Description = $"Act as this user (memo user create): its key signs every call and its passport goes with it; ${UserVariable} replaces the default (anonymous)",
            HelpName = "user",
            Recursive = true,
            DefaultValueFactory = _ => getEnvironmentVariable(UserVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null,
        };
        Passport = new Option<string?>("--passport")
        {
            Description = "The passport file to present (default: the one stored for --as)",
            HelpName = "file",
            Recursive = true,
        };
        Home = new Option<string?>("--home")
        {
            Description = $"The folder of users and passports; ${Users.UserStore.HomeVariable} replaces the default ($XDG_CONFIG_HOME/memo or ~/.config/memo)",
            HelpName = "dir",
            Recursive = true,
        };
    }

    /// <summary>The environment variable that gives <c>--as</c>.</summary>
    public const string UserVariable = "MEMO_USER";

    /// <summary><c>--as USER</c>: the user whose key signs the calls; null for anonymous calls.</summary>
    public Option<string?> As { get; }

    /// <summary><c>--passport FILE</c>.</summary>
    public Option<string?> Passport { get; }

    /// <summary><c>--home DIR</c>: the folder of users and passports.</summary>
    public Option<string?> Home { get; }

    /// <summary><c>--node host:port</c>.</summary>
    public Option<string> Node { get; }

    /// <summary><c>--ca FILE</c>: the network CA certificate; null for cleartext.</summary>
    public Option<string?> Ca { get; }

    /// <summary><c>--json</c>.</summary>
    public Option<bool> Json { get; }

    /// <summary><c>--timeout</c>; absent means <see cref="DefaultTimeout"/>.</summary>
    public Option<TimeSpan?> Timeout { get; }

    /// <summary>Adds the options to the root command; they apply to every subcommand.</summary>
    public void AddTo(Command root)
    {
        root.Add(Node);
        root.Add(Json);
        root.Add(Ca);
        root.Add(Timeout);
        root.Add(As);
        root.Add(Passport);
        root.Add(Home);
    }

    /// <summary>The connection settings of a parsed command line.</summary>
    public ConnectionSettings Bind(ParseResult result) =>
        new(result.GetValue(Node)!, result.GetValue(Json), result.GetValue(Timeout) ?? DefaultTimeout, result.GetValue(Ca),
            result.GetValue(As), result.GetValue(Passport), result.GetValue(Home));

    /// <summary>True when <c>--node</c> was written on the command line (not defaulted).</summary>
    public bool NodeGiven(ParseResult result) => result.GetResult(Node) is { Implicit: false };

    /// <summary>
    /// A duration option (<c>500ms</c>, <c>10s</c>, <c>2m</c>), positive unless <paramref name="allowZero"/>. It has no
    /// default of its own (null when absent; the caller applies <paramref name="defaultValue"/>) because help would
    /// print a TimeSpan default as 00:00:30; the description shows it as 30s instead.
    /// </summary>
    public static Option<TimeSpan?> DurationOption(string name, TimeSpan defaultValue, string description, bool allowZero = false) => new(name)
    {
        Description = $"{description} [default: {Duration.Format(defaultValue)}]",
        HelpName = "duration",
        CustomParser = result => ParseDuration(result, name, allowZero),
    };

    /// <summary>
    /// A whole-number option within [<paramref name="min"/>, <paramref name="max"/>]. Parsed by hand so that a
    /// malformed or out-of-range value is one clear parse error rather than a conversion exception.
    /// </summary>
    public static Option<T> NumberOption<T>(string name, string? alias, T defaultValue, T min, T max, string description)
        where T : struct, INumber<T>
    {
        var option = alias is null ? new Option<T>(name) : new Option<T>(name, alias);
        option.Description = $"{description} ({min}..{max})";
        option.DefaultValueFactory = _ => defaultValue;
        option.CustomParser = result =>
        {
            var token = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (!T.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || T.IsNaN(value) || value < min || value > max)
            {
                result.AddError($"{name} must be a number from {min} to {max}, not '{token}'");
                return defaultValue;
            }
            return value;
        };
        return option;
    }

    /// <summary>
    /// An option whose value is one of an enum's members, written in lower case (<c>--mode insert</c>); help lists
    /// the choices and the default in lower case, which an enum-typed option would not.
    /// </summary>
    public static Option<string> ChoiceOption<TEnum>(string name, string? alias, TEnum defaultValue, string description)
        where TEnum : struct, Enum
    {
        var choices = Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()).ToArray();
        var option = alias is null ? new Option<string>(name) : new Option<string>(name, alias);
        option.Description = description;
        option.HelpName = string.Join('|', choices);
        option.DefaultValueFactory = _ => defaultValue.ToString().ToLowerInvariant();
        option.AcceptOnlyFromAmong(choices);
        return option;
    }

    /// <summary>The enum member a <see cref="ChoiceOption{TEnum}"/> holds.</summary>
    public static TEnum Choice<TEnum>(ParseResult result, Option<string> option)
        where TEnum : struct, Enum =>
        Enum.Parse<TEnum>(result.GetValue(option)!, ignoreCase: true);

    private static TimeSpan? ParseDuration(ArgumentResult result, string name, bool allowZero)
    {
        var token = result.Tokens.Count == 1 ? result.Tokens[0].Value : null;
        if (!Duration.TryParse(token, out var duration) || (!allowZero && duration == TimeSpan.Zero))
        {
            result.AddError($"{name} needs a {(allowZero ? "" : "positive ")}duration such as 500ms, 10s or 2m, not '{token}'");
            return default;
        }
        return duration;
    }
}
