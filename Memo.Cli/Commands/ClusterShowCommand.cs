using System.CommandLine;
using Memo.Admin.Wire;
using Spectre.Console;

namespace Memo.Cli.Commands;

/// <summary><c>memo cluster show</c>: the members as the node sees them (id, address, status, reachable, leader).</summary>
internal sealed class ClusterShowCommand
{
    private readonly AdminOptions _admin;
    private readonly CliIo _io;

    public ClusterShowCommand(AdminOptions admin, CliIo io)
    {
        _admin = admin;
        _io = io;
        Command = new Command("show", "Show the cluster members as the node sees them");
        Command.SetAction((result, cancellationToken) => ExecuteAsync(_admin.Bind(result), cancellationToken));
    }

    /// <summary>The <c>show</c> command.</summary>
    public Command Command { get; }

    private Task<int> ExecuteAsync(AdminSettings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAdminAsync(_io, settings, async client =>
        {
            var show = await client.ShowAsync(cancellationToken).ConfigureAwait(false);
            if (settings.Json)
            {
                WriteJson(show);
            }
            else
            {
                WriteTable(show);
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    private void WriteJson(ShowResponse show) =>
        _io.WriteLine(Output.Json.Write(w =>
        {
            w.WriteString("self", show.SelfId);
            w.WriteString("address", show.SelfAddress);
            w.WriteString("leader", show.LeaderId);
            w.WriteBoolean("converged", show.Converged);
            w.WriteBoolean("serving", show.Serving);
            w.WriteString("problem", show.Problem);
            w.WriteString("network", show.NetworkName);
            w.WriteNumber("shardCount", show.ShardCount);
            w.WriteNumber("replicationFactor", show.ReplicationFactor);
            w.WriteStartArray("members");
            foreach (var member in show.Members)
            {
                Memo.Admin.AdminJson.WriteMember(w, member, show);
            }
            w.WriteEndArray();
        }));

    private void WriteTable(ShowResponse show)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("id").AddColumn("address").AddColumn("status").AddColumn("reachable").AddColumn("leader");
        foreach (var member in show.Members)
        {
            table.AddRow(
                new Text(member.Id + (member.Id == show.SelfId ? " (self)" : "")),
                new Text(member.Address),
                new Text(member.Status.ToString().ToLowerInvariant()),
                new Text(member.Reachable ? "yes" : "NO"),
                new Text(member.Id == show.LeaderId ? "*" : ""));
        }
        _io.Console.Write(table);
        _io.Console.WriteLine(
            $"network '{show.NetworkName}': {show.ShardCount} shards, replication factor {show.ReplicationFactor}; " +
            $"converged: {(show.Converged ? "yes" : "no")}; serving: {(show.Serving ? "yes" : "no")}" +
            (show.Problem.Length > 0 ? $"; {show.Problem}" : ""));
    }
}
