using System.CommandLine;

namespace Memo.Cli.Commands;

/// <summary><c>memo cluster join &lt;seed&gt;</c>, <c>memo cluster leave [&lt;node&gt;]</c>, <c>memo cluster down &lt;node&gt;</c>.</summary>
internal sealed class ClusterChangeCommand
{
    private readonly AdminOptions _admin;
    private readonly CliIo _io;

    public ClusterChangeCommand(AdminOptions admin, CliIo io, ClusterChange change)
    {
        _admin = admin;
        _io = io;
        Change = change;
        (Target, Command) = change switch
        {
            ClusterChange.Join => Make("join", "seed", "A member's remoting endpoint (host:port, its --remote)", required: true,
                "Tell the node to join a cluster through a seed (refused when it is already a member)"),
            ClusterChange.Leave => Make("leave", "node", "Member id (hex), API or remoting address; default: the node itself", required: false,
                "Leave the cluster gracefully: Leaving -> Exiting -> Removed"),
            _ => Make("down", "node", "Member id (hex), API or remoting address", required: true,
                "Declare a member dead (Down), so the cluster stops waiting for it; exit 3 when there is no such member"),
        };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>Which change this command makes.</summary>
    public ClusterChange Change { get; }

    /// <summary>The command.</summary>
    public Command Command { get; }

    /// <summary>The seed or member argument.</summary>
    public Argument<string?> Target { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(_admin.Bind(result), result.GetValue(Target));

    private static (Argument<string?>, Command) Make(string name, string argument, string description, bool required, string help)
    {
        var target = new Argument<string?>(argument) { Description = description, Arity = required ? ArgumentArity.ExactlyOne : ArgumentArity.ZeroOrOne };
        return (target, new Command(name, help) { target });
    }

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAdminAsync(_io, settings.Connection, async client =>
        {
            string id;
            switch (Change)
            {
                case ClusterChange.Join:
                    await client.JoinAsync(settings.Target!, cancellationToken).ConfigureAwait(false);
                    id = settings.Target!;
                    break;
                case ClusterChange.Leave:
                    id = await client.LeaveAsync(settings.Target, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    id = await client.DownAsync(settings.Target!, cancellationToken).ConfigureAwait(false);
                    break;
            }
            var verb = Change switch { ClusterChange.Join => "joining through", ClusterChange.Leave => "leaving", _ => "down" };
            if (settings.Connection.Json)
            {
                _io.WriteLine(Output.Json.Write(w =>
                {
                    w.WriteString("action", Change.ToString().ToLowerInvariant());
                    w.WriteString(Change == ClusterChange.Join ? "seed" : "id", id);
                }));
            }
            else
            {
                _io.WriteLine($"{verb} {id}");
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    /// <summary>What the command was asked to do.</summary>
    public sealed record Settings(AdminSettings Connection, string? Target);
}
