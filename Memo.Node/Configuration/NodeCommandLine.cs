using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;

namespace Memo.Node.Configuration;

/// <summary>
/// Maps the arguments of <c>dotnet Memo.Node.dll</c> to a <see cref="NodeCommand"/>. Pure: it reads no files;
/// each option becomes a HOCON override applied in command-line order after <c>--config</c>, so the option
/// shortcuts and <c>--set</c> share one path into <see cref="MemoOptions"/>.
/// </summary>
public static class NodeCommandLine
{
    private sealed record Option(string Name, string? Value, string Description);

    private static readonly Option[] Options =
    [
        new("--listen", "HOST:PORT", "Address to serve gRPC on; port 0 picks a free port (memo.node.listen)."),
        new("--remote", "HOST:PORT", "Address Akka remoting (node-to-node traffic) listens on; port 0 picks a free port\n(memo.node.remote)."),
        new("--data", "DIR", "Directory for the node's database and keys (memo.node.data-directory)."),
        new("--seed", "HOST:PORT", "The remoting endpoint (--remote) of a member to join through; repeat for several (memo.node.seeds)."),
        new("--config", "FILE", "HOCON file whose keys override the defaults (same layout as hocon/memo.conf)."),
        new("--set", "KEY=VALUE", "Override any key, e.g. --set memo.raft.tick-interval=50ms; repeatable."),
        new("--replication-factor", "N", "Replicas per shard for a new network (memo.network.replication-factor)."),
        new("--eviction-delay", "DURATION", "How long an unreachable node may stay before it is evicted, e.g. 10m\n(memo.network.eviction-delay)."),
        new("--versions", "N", "Versions of each key and mutable block a new network keeps, 1..32\n(memo.network.versions)."),
        new("--erasure", "off|K+M", "Erasure coding of large immutable blocks for a new network, e.g. 4+2\n(memo.network.erasure)."),
        new("--shards", "N", "Shard count for a new network, a power of two (memo.shards.count)."),
        new("--metrics", "HOST:PORT", "Serve /metrics, /healthz, /readyz and the dashboard (/ui) on this address\n(memo.metrics.listen; off by default)."),
        new("--insecure", null, "Serve the gRPC API in cleartext on a non-loopback address (memo.api.insecure);\nthe node warns at every start. Without it such a node needs memo.api.tls."),
        new("--help", null, "Show this help and exit."),
        new("--version", null, "Show the version and exit."),
    ];

    /// <summary>The help text: synopsis, every option, and how configuration layers combine.</summary>
    public static string Usage { get; } = BuildUsage();

    /// <summary>Decides what to do from <paramref name="args"/>. Options take their value as the next argument or
    /// after <c>=</c> (<c>--listen=0.0.0.0:5090</c>). <c>--help</c> and <c>--version</c> win over everything else.</summary>
    public static NodeCommand Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? configFile = null;
        var overrides = ImmutableArray.CreateBuilder<string>();
        var seeds = new List<string>();
        var seedSlot = -1;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? error = null;

        for (var i = 0; i < args.Count && error is null; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                return new NodeCommand.Help(Usage);
            }

            if (arg == "--version")
            {
                return new NodeCommand.Version(VersionText());
            }

            if (arg == "--insecure")
            {
                if (!seen.Add(arg))
                {
                    error = "option '--insecure' given more than once";
                    break;
                }
                overrides.Add("memo.api.insecure = on");
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? arg[..equals] : arg;
            var option = Array.Find(Options, o => o.Name == name && o.Value is not null);
            if (option is null)
            {
                error = arg.StartsWith('-')
                    ? $"unknown option '{name}'. Valid options: {string.Join(", ", Options.Select(o => o.Name))}"
                    : $"unexpected argument '{arg}'; every setting is given through an option";
                break;
            }

            string value;
            if (equals > 0 && name.Length < arg.Length)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                error = $"option '{name}' needs a value: {name} {option.Value}";
                break;
            }

            if (name is not ("--seed" or "--set") && !seen.Add(name))
            {
                error = $"option '{name}' given more than once";
                break;
            }

            switch (name)
            {
                case "--config":
                    configFile = value;
                    break;
                case "--set":
                    if (value.IndexOf('=', StringComparison.Ordinal) <= 0)
                    {
                        error = $"--set expects KEY=VALUE, e.g. --set memo.shards.count=128; got '{value}'";
                    }
                    else
                    {
                        overrides.Add(value);
                    }

                    break;
                case "--seed":
                    // All seeds become one list override, placed where the first --seed appeared.
                    if (seedSlot < 0)
                    {
                        seedSlot = overrides.Count;
                        overrides.Add("");
                    }

                    seeds.Add(value);
                    break;
                case "--listen":
                    overrides.Add(Assign("memo.node.listen", value));
                    break;
                case "--remote":
                    overrides.Add(Assign("memo.node.remote", value));
                    break;
                case "--metrics":
                    overrides.Add(Assign("memo.metrics.listen", value));
                    break;
                case "--data":
                    overrides.Add(Assign("memo.node.data-directory", value));
                    break;
                case "--replication-factor":
                    error = RequireInteger(name, value);
                    overrides.Add(Assign("memo.network.replication-factor", value));
                    break;
                case "--versions":
                    error = RequireInteger(name, value);
                    overrides.Add(Assign("memo.network.versions", value));
                    break;
                case "--erasure":
                    overrides.Add(Assign("memo.network.erasure", value));
                    break;
                case "--shards":
                    error = RequireInteger(name, value);
                    overrides.Add(Assign("memo.shards.count", value));
                    break;
                case "--eviction-delay":
                    error = ConfigUnits.TryParseDuration(value, out _)
                        ? null
                        : $"--eviction-delay expects {ConfigUnits.DurationHint}; got '{value}'";
                    overrides.Add(Assign("memo.network.eviction-delay", value));
                    break;
            }
        }

        if (error is not null)
        {
            return new NodeCommand.UsageError(error);
        }

        if (seedSlot >= 0)
        {
            overrides[seedSlot] = "memo.node.seeds = [" + string.Join(", ", seeds.Select(ConfigText.Quote)) + "]";
        }

        return new NodeCommand.Run(configFile, overrides.ToImmutable());
    }

    /// <summary>Values are always quoted (<see cref="ConfigText.Quote"/>), so an argument cannot inject HOCON syntax
    /// and reaches the options exactly; typed reading accepts quoted numbers and durations as HOCON does.</summary>
    private static string Assign(string key, string value) => key + " = " + ConfigText.Quote(value);

    private static string? RequireInteger(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            ? null
            : $"{name} expects a non-negative integer; got '{value}'";

    private static string VersionText()
    {
        var assembly = typeof(NodeCommandLine).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                      ?? assembly.GetName().Version?.ToString()
                      ?? "unknown";
        return "memo node " + version;
    }

    private static string BuildUsage()
    {
        const int column = 32;
        var lines = new List<string>
        {
            "Usage: dotnet Memo.Node.dll [options]",
            "",
            "Runs a memo node: one peer of a replicated key-value and block store, serving gRPC.",
            "",
            "Options:",
        };
        foreach (var option in Options)
        {
            var head = "  " + option.Name + (option.Value is null ? "" : " " + option.Value);
            var description = option.Description.Split('\n');
            lines.Add(head.PadRight(column) + description[0]);
            lines.AddRange(description.Skip(1).Select(d => new string(' ', column) + d));
        }

        lines.AddRange(
        [
            "",
            "Configuration, later wins: the defaults in hocon/memo.conf (every key documented there),",
            "then --config FILE, then the other options in the order given. Unknown memo.* keys are errors;",
            "an akka section passes through to Akka. --set takes HOCON: quote a value holding ':' or spaces,",
            "e.g. --set 'memo.node.advertise=\"10.0.0.1:5090\"'.",
            "Durations take a unit (250ms, 5s, 10m, 1h, 2d); sizes take bytes or KiB/MiB/GiB (16MiB).",
        ]);
        return string.Join(Environment.NewLine, lines);
    }
}
