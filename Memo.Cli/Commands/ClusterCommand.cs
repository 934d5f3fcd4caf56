using System.CommandLine;

namespace Memo.Cli.Commands;

/// <summary><c>memo cluster ...</c>: membership administration, asked of the node's admin actor over Akka remoting
/// (<c>--remote</c>, <c>--network</c>; see <see cref="AdminOptions"/>).</summary>
internal sealed class ClusterCommand
{
    public ClusterCommand(GlobalOptions global, CliIo io)
    {
        Admin = new AdminOptions(global, io.GetEnvironmentVariable);
        Show = new ClusterShowCommand(Admin, io);
        Shards = new ClusterShardsCommand(Admin, io);
        Join = new ClusterChangeCommand(Admin, io, ClusterChange.Join);
        Leave = new ClusterChangeCommand(Admin, io, ClusterChange.Leave);
        Down = new ClusterChangeCommand(Admin, io, ClusterChange.Down);
        Command = new Command("cluster", "Show and change the cluster membership (over Akka remoting: --remote, --network)")
        {
            Show.Command, Shards.Command, Join.Command, Leave.Command, Down.Command,
        };
        Admin.AddTo(Command);
    }

    /// <summary><c>--remote</c> and <c>--network</c>.</summary>
    public AdminOptions Admin { get; }

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
