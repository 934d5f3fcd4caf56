using Akka.Configuration;

namespace Memo.Node.Configuration;

/// <summary>
/// Everything configurable about a node, typed and immutable. Libraries receive the sub-record they need
/// (<see cref="RaftOptions"/>, <see cref="StorageOptions"/>, ...), never string keys.
/// </summary>
/// <remarks>
/// Design (Akka's <c>reference.conf</c> + typed settings; etcd's <c>Config.validate</c>): the defaults live only in
/// <c>hocon/memo.conf</c>, built into this assembly (<see cref="ReferenceText"/>); no C# code repeats them.
/// <see cref="Load"/> parses the defaults, a user file and command-line overrides with Akka's HOCON parser and lays
/// them over each other with <see cref="Config.WithFallback"/> (later wins, objects merge), rejects <c>memo.*</c> keys
/// the defaults do not define (typos must not fall back silently), reads every key into these records with memo's
/// own strict value rules (<see cref="OptionsReader"/>), then applies <see cref="Validate"/>. Every problem at every
/// step is collected into one <see cref="MemoConfigurationException"/>. The <c>akka</c> section passes through
/// untouched in <see cref="Config"/>.
/// </remarks>
/// <param name="Node">This node's address, data directory, seeds and shutdown.</param>
/// <param name="Grpc">gRPC server limits.</param>
/// <param name="Storage">Database and group-commit writer.</param>
/// <param name="Shards">Shard count and per-shard actor bounds.</param>
/// <param name="Kvs">Key-value API limits.</param>
/// <param name="Network">Per-network policies used by the cluster.</param>
/// <param name="Raft">Raft timing and flow control.</param>
/// <param name="Cluster">Membership: gossip, failure detection, ring tokens (<c>memo.cluster</c>).</param>
/// <param name="Api">The public API's TLS (<c>memo.api</c>).</param>
/// <param name="Metrics">The metrics port and OTLP export (<c>memo.metrics</c>).</param>
/// <param name="Security">Passports and signed calls (<c>memo.security</c>).</param>
/// <param name="Peer">The node-to-node data channel's transport (<c>memo.peer</c>).</param>
public sealed record MemoOptions(
    NodeOptions Node,
    GrpcOptions Grpc,
    StorageOptions Storage,
    ShardOptions Shards,
    KvsOptions Kvs,
    NetworkOptions Network,
    RaftOptions Raft,
    Memo.Node.Cluster.ClusterOptions Cluster,
    ApiOptions Api,
    MetricsOptions Metrics,
    SecurityOptions Security,
    PeerOptions Peer)
{
    /// <summary>Names the built-in defaults in problems.</summary>
    public const string ReferenceSource = "defaults (hocon/memo.conf)";

    private static readonly Lazy<string> Reference = new(ReadReferenceText);

    /// <summary>The text of <c>hocon/memo.conf</c> as built into this assembly: the defaults every load starts from.</summary>
    public static string ReferenceText => Reference.Value;

    /// <summary>The merged configuration these options were read from: the defaults, the user file and the overrides,
    /// including the <c>akka</c> section, which memo does not read and hands to Akka as it is. Empty for options
    /// built in code. Not part of equality: Akka's <see cref="Akka.Configuration.Config"/> compares by reference, and
    /// two loads of the same settings are equal options.</summary>
    public Config Config { get; init; } = Config.Empty;

    /// <summary>Parses the built-in defaults (<see cref="ReferenceText"/>); a fresh tree each call, since Akka's trees
    /// are mutable.</summary>
    public static Config ParseReference() =>
        ConfigurationFactory.ParseString(ReferenceText);

    /// <summary>Loads the configuration: the built-in defaults, then <paramref name="configFile"/> when given, then
    /// each override (a HOCON snippet such as <c>memo.shards.count=128</c>) in order; later wins. Throws
    /// <see cref="MemoConfigurationException"/> listing every problem.</summary>
    public static MemoOptions Load(string? configFile, IReadOnlyList<string> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var problems = new List<string>();
        var reference = ConfigDocument.Parse(ReferenceText, ReferenceSource, problems);
        var layers = new List<ConfigLayer>();
        if (configFile is not null)
        {
            var source = $"config file '{configFile}'";
            if (ConfigDocument.ParseFile(configFile, source, problems) is { } file)
            {
                layers.Add(new ConfigLayer(source, file));
            }
        }

        foreach (var text in overrides)
        {
            // Parse errors are collected, not thrown: the next source is still parsed so all are reported.
            var source = $"override '{text}'";
            if (ConfigDocument.Parse(text, source, problems) is { } layer)
            {
                layers.Add(new ConfigLayer(source, layer));
            }
        }

        if (problems.Count > 0 || reference is null)
        {
            throw new MemoConfigurationException(problems);
        }

        return FromLayers(reference, layers);
    }

    /// <summary>The pure part of <see cref="Load"/>: lays <paramref name="layers"/> over <paramref name="reference"/>
    /// in order, rejects <c>memo.*</c> keys the reference does not define, reads and validates. Throws
    /// <see cref="MemoConfigurationException"/> listing every problem.</summary>
    public static MemoOptions FromLayers(Config reference, IReadOnlyList<ConfigLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(layers);
        var problems = new List<string>();
        // Texts parsed by ConfigDocument cannot hold substitutions; Configs parsed elsewhere can. Akka resolves them
        // when it parses a text, so a value taken from another key would keep it after a later layer changed that key.
        foreach (var (source, config) in layers.Select(l => (l.Source, l.Config)).Prepend((ReferenceSource, reference)))
        {
            if (config.Substitutions?.Any() == true)
            {
                problems.Add($"{source}: uses substitutions (${{{string.Join("}, ${", config.Substitutions.Select(s => s.Path))}}}), " +
                             "which memo does not support: Akka resolves them within one text, before later layers apply");
            }
        }

        var misshapen = new HashSet<string>(StringComparer.Ordinal);
        var merged = reference;
        foreach (var layer in layers)
        {
            KnownKeys.Check(reference, layer, problems, misshapen);
            merged = layer.Config.WithFallback(merged);
        }

        // Keep going after unknown keys so that one run reports the ill-typed and invalid values as well.
        var reader = new OptionsReader(merged, path => SourceOf(path, layers), misshapen);
        var options = Read(reader) with { Config = merged };
        problems.AddRange(reader.Problems);
        if (problems.Count == 0)
        {
            problems.AddRange(options.Validate());
        }

        return problems.Count > 0 ? throw new MemoConfigurationException(problems) : options;
    }

    /// <summary>Reads every key under <c>memo</c> from a complete configuration, without validating rules.
    /// Throws <see cref="MemoConfigurationException"/> naming every missing or ill-typed key.</summary>
    public static MemoOptions FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var reader = new OptionsReader(config);
        var options = Read(reader) with { Config = config };
        return reader.Problems.Count > 0 ? throw new MemoConfigurationException(reader.Problems) : options;
    }

    /// <summary>Compares the typed options; <see cref="Config"/> is left out (see there).</summary>
    public bool Equals(MemoOptions? other) =>
        other is not null && Node.Equals(other.Node) && Grpc.Equals(other.Grpc) && Storage.Equals(other.Storage) &&
        Shards.Equals(other.Shards) && Kvs.Equals(other.Kvs) && Network.Equals(other.Network) && Raft.Equals(other.Raft) &&
        Cluster.Equals(other.Cluster) && Api.Equals(other.Api) && Metrics.Equals(other.Metrics) && Security.Equals(other.Security) && Peer.Equals(other.Peer);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Node, Grpc, Storage, Shards, Kvs, Network, Raft, Cluster);

    /// <summary>Every rule the values break, each as <c>key.path = value: rule</c>; empty when the options are
    /// usable. Checks each section and the rules that span sections.</summary>
    public IReadOnlyList<string> Validate()
    {
        var v = new OptionsValidator();
        Node.Validate(v);
        Grpc.Validate(v);
        Storage.Validate(v);
        Shards.Validate(v);
        Kvs.Validate(v);
        Network.Validate(v);
        Raft.Validate(v);
        Cluster.Validate(v);
        Api.Validate(v);
        Metrics.Validate(v);
        Security.Validate(v);
        // Passports are checked against the network owner's key: requiring them without one would refuse every call.
        // (A data folder's recorded owner is checked again at start.)
        v.Require(Security.RequirePassport != PassportRequirement.On || Network.Owner.Length > 0, $"{SecurityOptions.Path}.require-passport", "on",
            $"needs the network owner's key ({NetworkOptions.Path}.owner)");
        // A cleartext API on an address others can reach hands every key to whoever listens on the network.
        if (NodeOptions.TryParseHostPort(Node.Listen, out var listenHost, out _))
        {
            v.Require(Api.Tls || Api.Insecure || ApiOptions.IsLoopback(listenHost), $"{NodeOptions.Path}.listen", ConfigText.Quote(Node.Listen),
                $"is not a loopback address, so the API needs TLS ({ApiOptions.Path}.tls.certificate and key); to serve cleartext anyway, pass --insecure ({ApiOptions.Path}.insecure = on)");
        }
        // Node certificates and the CA that issued them go together: one without the other is a half-secured node.
        v.Require(Node.Certificate.Length > 0 == Network.Ca.Length > 0, $"{NodeOptions.Path}.certificate",
            ConfigText.Quote(Node.Certificate), $"and {NetworkOptions.Path}.ca ({ConfigText.Quote(Network.Ca)}) must be set together (mutual TLS between nodes) or both left empty");

        // A value travels in one request and one response, with its key and some framing.
        var message = Math.Min(Grpc.MaxReceiveMessageSize, Grpc.MaxSendMessageSize);
        v.Require(Kvs.MaxValueBytes + Kvs.MaxKeyBytes < message, $"{KvsOptions.Path}.max-value-bytes",
            ConfigUnits.FormatByteSize(Math.Max(0, Kvs.MaxValueBytes)),
            $"plus {KvsOptions.Path}.max-key-bytes must be less than the gRPC message limits " +
            $"({GrpcOptions.Path}.max-receive-message-size, max-send-message-size: {ConfigUnits.FormatByteSize(Math.Max(0, message))})");
        // A single write must fit one group commit.
        v.Require(Storage.MaxBatchBytes >= Kvs.MaxValueBytes, $"{StorageOptions.Path}.max-batch-bytes",
            ConfigUnits.FormatByteSize(Math.Max(0, Storage.MaxBatchBytes)),
            $"must be at least {KvsOptions.Path}.max-value-bytes ({ConfigUnits.FormatByteSize(Math.Max(0, Kvs.MaxValueBytes))})");
        // Peers exchange appends over the same gRPC server.
        v.Require(Raft.MaxAppendBytes <= message, $"{RaftOptions.Path}.max-append-bytes",
            ConfigUnits.FormatByteSize(Math.Max(0, Raft.MaxAppendBytes)),
            $"must not exceed the gRPC message limits ({ConfigUnits.FormatByteSize(Math.Max(0, message))})");
        return v.Problems;
    }

    private static MemoOptions Read(OptionsReader reader) => new(
        NodeOptions.Read(reader),
        GrpcOptions.Read(reader),
        StorageOptions.Read(reader),
        ShardOptions.Read(reader),
        KvsOptions.Read(reader),
        NetworkOptions.Read(reader),
        RaftOptions.Read(reader),
        Memo.Node.Cluster.ClusterOptions.Read(reader),
        ApiOptions.Read(reader),
        MetricsOptions.Read(reader),
        SecurityOptions.Read(reader),
        PeerOptions.Read(reader));

    /// <summary>The last layer that sets <paramref name="path"/>, or the defaults.</summary>
    private static string SourceOf(string path, IReadOnlyList<ConfigLayer> layers)
    {
        for (var i = layers.Count - 1; i >= 0; i--)
        {
            if (layers[i].Config.HasPath(path))
            {
                return layers[i].Source;
            }
        }

        return ReferenceSource;
    }

    private static string ReadReferenceText()
    {
        const string name = "Memo.Node.hocon.memo.conf";
        using var stream = typeof(MemoOptions).Assembly.GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException($"The defaults resource '{name}' is missing from {typeof(MemoOptions).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
