using System.CommandLine;
using System.Globalization;
using Memo.Admin.Wire;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo network show</c>: the network's policies as the node asked holds them (fixed when the network was created):
/// shards, replication factor, eviction delay, compression and encryption at rest. Asked over Akka remoting like
/// <c>memo cluster show</c>, whose answer carries them.
/// </summary>
internal sealed class NetworkShowCommand
{
    private readonly AdminOptions _admin;
    private readonly CliIo _io;

    public NetworkShowCommand(GlobalOptions global, CliIo io)
    {
        _admin = new AdminOptions(global, io.GetEnvironmentVariable);
        _io = io;
        Command = new Command("show", "Show the network's policies: shards, replication factor, eviction delay, compression, encryption at rest (over Akka remoting: --remote, --network)");
        _admin.AddTo(Command);
        Command.SetAction((result, cancellationToken) => ExecuteAsync(_admin.Bind(result), cancellationToken));
    }

    /// <summary>The <c>show</c> command.</summary>
    public Command Command { get; }

    /// <summary>The compression's name as the configuration spells it; "unknown" from a node before policies.</summary>
    internal static string CompressionName(Compression compression) => compression switch
    {
        Compression.Off => "off",
        Compression.Zstd => "zstd",
        Compression.Brotli => "brotli",
        _ => "unknown",
    };

    private Task<int> ExecuteAsync(AdminSettings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAdminAsync(_io, settings, async client =>
        {
            var show = await client.ShowAsync(cancellationToken).ConfigureAwait(false);
            var policies = show.Policies ?? new NetworkPolicies();
            if (settings.Json)
            {
                _io.WriteLine(Output.Json.Write(w =>
                {
                    w.WriteString("network", show.NetworkName);
                    w.WriteNumber("shardCount", show.ShardCount);
                    w.WriteNumber("replicationFactor", show.ReplicationFactor);
                    w.WriteNumber("evictionDelayMs", show.EvictionDelayMs);
                    w.WriteString("compression", CompressionName(policies.Compression));
                    w.WriteBoolean("encryptAtRest", policies.EncryptAtRest);
                    w.WriteNumber("versions", Math.Max(1u, policies.Versions));
                    w.WriteString("erasure", ErasureScheme(policies));
                    if (policies.ErasureDataFragments > 0)
                    {
                        w.WriteNumber("erasureThreshold", policies.ErasureThreshold);
                    }
                }));
            }
            else
            {
                _io.WriteLine($"network            {show.NetworkName}");
                _io.WriteLine($"shards             {show.ShardCount.ToString(CultureInfo.InvariantCulture)}");
                _io.WriteLine($"replication factor {show.ReplicationFactor.ToString(CultureInfo.InvariantCulture)}");
                _io.WriteLine($"eviction delay     {ShowDuration(TimeSpan.FromMilliseconds(show.EvictionDelayMs))}");
                _io.WriteLine($"compression        {CompressionName(policies.Compression)}");
                _io.WriteLine($"encrypt at rest    {(policies.EncryptAtRest ? "on" : "off")}");
                _io.WriteLine($"versions           {Math.Max(1u, policies.Versions).ToString(CultureInfo.InvariantCulture)}");
                _io.WriteLine($"erasure            {ErasureScheme(policies)}" + (policies.ErasureDataFragments > 0
                    ? $" (blocks above {policies.ErasureThreshold.ToString(CultureInfo.InvariantCulture)} bytes)"
                    : ""));
            }
            return ExitCodes.Ok;
        }, cancellationToken);

    // "off" or "K+M", as memo.network.erasure is written.
    private static string ErasureScheme(NetworkPolicies policies) =>
        policies.ErasureDataFragments == 0 ? "off"
        : string.Create(CultureInfo.InvariantCulture, $"{policies.ErasureDataFragments}+{policies.ErasureParityFragments}");

    private static string ShowDuration(TimeSpan value) =>
        value.TotalHours >= 1 && value.TotalHours == Math.Floor(value.TotalHours) ? $"{value.TotalHours.ToString(CultureInfo.InvariantCulture)}h"
        : value.TotalMinutes >= 1 && value.TotalMinutes == Math.Floor(value.TotalMinutes) ? $"{value.TotalMinutes.ToString(CultureInfo.InvariantCulture)}m"
        : value.TotalSeconds >= 1 && value.TotalSeconds == Math.Floor(value.TotalSeconds) ? $"{value.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s"
        : $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";
}
