using System.CommandLine;

namespace Memo.Cli.Commands;

/// <summary><c>memo bench ...</c>: load generators.</summary>
internal sealed class BenchCommand
{
    public BenchCommand(GlobalOptions global, CliIo io)
    {
        Kv = new BenchKvCommand(global, io);
        Command = new Command("bench", "Measure throughput and latency") { Kv.Command };
    }

    /// <summary>The <c>bench</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>bench kv</c>.</summary>
    public BenchKvCommand Kv { get; }
}
