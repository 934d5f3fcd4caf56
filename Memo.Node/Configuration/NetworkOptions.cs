using Memo.Node.Storage.Policies;

namespace Memo.Node.Configuration;

/// <summary>Network policies, fixed when a network is created and used by the cluster layer (<c>memo.network</c>).</summary>
/// <param name="ReplicationFactor">Replicas of every shard: the size of each Raft group.</param>
/// <param name="EvictionDelay">How long a member may stay unreachable before it is downed and its shards
/// re-replicated.</param>
/// <param name="Name">The network's name: peer links between nodes of different names are refused, and a node only
/// joins a cluster of its own name.</param>
/// <param name="Ca">PEM file of the network CA's certificate (<c>memo network create</c>): with
/// <c>memo.node.certificate</c>, remoting speaks mutual TLS and accepts only certificates this CA issued. Empty for none.</param>
/// <param name="Compression">How nodes compress the records they store (<c>memo.network.compression</c>); recorded at
/// the network's creation.</param>
/// <param name="EncryptAtRest">Whether nodes encrypt the records they store (<c>memo.network.encrypt-at-rest</c>);
/// recorded at the network's creation.</param>
/// <param name="Versions">Versions of each key kept, the current one included (1: only the current value).</param>
/// <param name="Erasure">Erasure coding of large immutable blocks, as written: <c>off</c> or <c>K+M</c>
/// (<c>memo.network.erasure</c>); recorded at the network's creation.</param>
/// <param name="ErasureThreshold">Immutable blocks above this many bytes are erasure coded when it is on
/// (<c>memo.network.erasure-threshold</c>).</param>
/// <param name="Owner">PEM file of the network owner's public key (<c>memo user export</c>): the key every passport
/// chains to. Recorded at the network's creation; empty for a network without an owner (no passports).</param>
public sealed record NetworkOptions(int ReplicationFactor, TimeSpan EvictionDelay, string Name = "memo", string Ca = "",
    ValueCompression Compression = ValueCompression.Off, bool EncryptAtRest = false, int Versions = 1, string Owner = "",
    string Erasure = "off", long ErasureThreshold = Erasure.ErasureCoding.DefaultThreshold)
{
    internal const string Path = "memo.network";

    private static readonly Dictionary<string, ValueCompression> CompressionChoices = new(StringComparer.Ordinal)
    {
        ["off"] = ValueCompression.Off,
        ["zstd"] = ValueCompression.Zstd,
        ["brotli"] = ValueCompression.Brotli,
    };

    private static readonly Dictionary<string, bool> Switch = new(StringComparer.Ordinal)
    {
        ["on"] = true,
        ["off"] = false,
    };

    /// <summary>The data policies these options ask for (a data folder keeps the ones recorded at its creation).</summary>
    public DataPolicies DataPolicies => new(Compression, EncryptAtRest);

    /// <summary>The erasure-coding policy these options ask for (<see cref="Erasure.ErasureCoding.Off"/> when the scheme is
    /// invalid: validation reports it).</summary>
    public Erasure.ErasureCoding ErasureCoding =>
        Memo.Node.Erasure.ErasureCoding.TryParseScheme(Erasure, out var k, out var m, out _)
            ? new(k, m, (int)Math.Clamp(ErasureThreshold, 0, int.MaxValue))
            : Memo.Node.Erasure.ErasureCoding.Off;

    internal static NetworkOptions Read(OptionsReader r) => new(
        r.Int32($"{Path}.replication-factor"),
        r.Duration($"{Path}.eviction-delay"),
        r.String($"{Path}.name"),
        r.String($"{Path}.ca"),
        r.Choice($"{Path}.compression", CompressionChoices),
        r.Choice($"{Path}.encrypt-at-rest", Switch),
        r.Int32($"{Path}.versions"),
        r.String($"{Path}.owner"),
        r.String($"{Path}.erasure"),
        r.Bytes($"{Path}.erasure-threshold"));

    internal void Validate(OptionsValidator v)
    {
        v.Range($"{Path}.replication-factor", ReplicationFactor, 1, 15);
        v.DurationRange($"{Path}.eviction-delay", EvictionDelay, TimeSpan.FromSeconds(1), TimeSpan.FromDays(30));
        v.Range($"{Path}.versions", Versions, 1, Shards.ShardStateMachine.MaxKeptVersions);
        v.Require(Memo.Node.Erasure.ErasureCoding.TryParseScheme(Erasure, out _, out _, out var erasureProblem), $"{Path}.erasure", ConfigText.Quote(Erasure),
            erasureProblem ?? "");
        v.SizeRange($"{Path}.erasure-threshold", ErasureThreshold, Memo.Node.Erasure.ErasureCoding.MinThreshold, Memo.Node.Erasure.ErasureCoding.MaxThreshold);
        // The name is also the ActorSystem's name, and Akka allows only these: a letter or digit, then letters, digits, '-', '_'.
        v.Require(Name.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(Name[0]) && Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'),
            $"{Path}.name", ConfigText.Quote(Name), "must be 1..64 characters: a letter or digit, then letters, digits, '-' or '_'");
    }
}
