using System.CommandLine;
using Memo.Protocol.Client;

namespace Memo.Cli.Commands;

/// <summary><c>memo cluster ...</c>: membership administration (<c>memo.cluster.ClusterAdmin</c>).</summary>
internal sealed class ClusterCommand
{
    public ClusterCommand(GlobalOptions global, CliIo io)
    {
        Show = new ClusterShowCommand(global, io);
        Shards = new ClusterShardsCommand(global, io);
        Join = new ClusterChangeCommand(global, io, ClusterChange.Join);
        Leave = new ClusterChangeCommand(global, io, ClusterChange.Leave);
        Down = new ClusterChangeCommand(global, io, ClusterChange.Down);
        Command = new Command("cluster", "Show and change the cluster membership") { Show.Command, Shards.Command, Join.Command, Leave.Command, Down.Command };
    }

    /// <summary>The <c>cluster</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>cluster show</c>.</summary>
    public ClusterShowCommand Show { get; }

    /// <summary><c>cluster shards</c>.</summary>
    public ClusterShardsCommand Shards { get; }

    /// <summary><c>cluster join</c>.</summary>
    public ClusterChangeCommand Join { get; }

    /// <summary><c>cluster leave</c>.</summary>
    public ClusterChangeCommand Leave { get; }

    /// <summary><c>cluster down</c>.</summary>
    public ClusterChangeCommand Down { get; }

}
