using System.CommandLine;
using Memo.Admin.Wire;
using Spectre.Console;

namespace Memo.Cli.Commands;

/// <summary><c>memo cluster shards</c>: each shard's replica set, leader, applied index, keys and bytes (the leader's last
/// count), under-replication.</summary>
internal sealed class ClusterShardsCommand
{
    private readonly AdminOptions _admin;
    private readonly CliIo _io;

    public ClusterShardsCommand(AdminOptions admin, CliIo io)
    {
        _admin = admin;
        _io = io;
        Command = new Command("shards", "Show every shard's replica set from the ring placement");
        Command.SetAction((result, cancellationToken) => ExecuteAsync(_admin.Bind(result), cancellationToken));
    }

    /// <summary>The <c>shards</c> command.</summary>
    public Command Command { get; }

    private Task<int> ExecuteAsync(AdminSettings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAdminAsync(_io, settings, async client =>
        {
            var shards = await client.ShardsAsync(cancellationToken).ConfigureAwait(false);
            if (settings.Json)
            {
                WriteJson(shards);
            }
            else
            {
                WriteTable(shards);
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    private void WriteJson(ShardsResponse shards) =>
        _io.WriteLine(Output.Json.Write(w =>
        {
            w.WriteNumber("shardCount", shards.ShardCount);
            w.WriteNumber("replicationFactor", shards.ReplicationFactor);
            w.WriteNumber("effectiveReplicationFactor", shards.EffectiveReplicationFactor);
            w.WriteStartArray("shards");
            foreach (var shard in shards.Shards)
            {
                w.WriteStartObject();
                Memo.Admin.AdminJson.WriteShardFields(w, shard);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            // The Raft configuration of each replica the answering node hosts: the ring says where a shard should be,
            // this says whether its group got there (a new member's replicas are learners until they catch up).
            w.WriteStartArray("localReplicas");
            foreach (var local in shards.LocalReplicas)
            {
                w.WriteStartObject();
                w.WriteNumber("shard", local.Shard);
                w.WriteBoolean("isLeader", local.IsLeader);
                w.WriteString("leader", local.LeaderId);
                w.WriteNumber("applied", local.AppliedIndex);
                Memo.Admin.AdminJson.WriteStrings(w, "voters", local.Voters);
                Memo.Admin.AdminJson.WriteStrings(w, "learners", local.Learners);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }));

    private void WriteTable(ShardsResponse shards)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumn("shard").AddColumn("replicas").AddColumn("leader").AddColumn("applied")
            .AddColumn(new TableColumn("keys").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned()).AddColumn("under-replicated");
        foreach (var shard in shards.Shards)
        {
            table.AddRow(
                new Text(shard.Shard.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Text(string.Join(", ", shard.Replicas)),
                new Text(shard.LeaderId.Length > 0 ? shard.LeaderId : "-"),
                new Text(shard.AppliedIndex > 0 ? shard.AppliedIndex.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-"),
                new Text(shard.HasKeys ? shard.Keys.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-"),
                new Text(shard.HasBytes ? KvTransfer.Bytes((long)shard.Bytes) : "-"),
                new Text(shard.UnderReplicated ? "YES" : ""));
        }
        _io.Console.Write(table);
        _io.Console.WriteLine($"{shards.ShardCount} shards, replication factor {shards.ReplicationFactor} (in force: {shards.EffectiveReplicationFactor})");
    }
}
