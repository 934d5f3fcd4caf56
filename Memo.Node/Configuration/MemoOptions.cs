namespace Memo.Node.Configuration;

/// <summary>
/// Everything configurable about a node, typed and immutable. Libraries receive the sub-record they need
/// (<see cref="RaftOptions"/>, <see cref="StorageOptions"/>, ...), never string keys.
/// </summary>
/// <remarks>
/// Design (Akka's <c>reference.conf</c> + typed settings; etcd's <c>Config.validate</c>): the defaults live only in
/// <c>hocon/memo.conf</c>, shipped beside the binary; no C# code repeats them. <see cref="Load(string?, IReadOnlyList{string})"/>
/// lays a user file and command-line overrides over the defaults (later wins, objects merge), rejects keys the
/// defaults do not define (typos must not fall back silently), reads every key into these records, then applies
/// <see cref="Validate"/>. Every problem at every step is collected into one <see cref="MemoConfigurationException"/>.
/// </remarks>
/// <param name="Node">This node's address, data directory, seeds and shutdown.</param>
/// <param name="Grpc">gRPC server limits.</param>
/// <param name="Storage">Database and group-commit writer.</param>
/// <param name="Shards">Shard count and per-shard actor bounds.</param>
/// <param name="Kvs">Key-value API limits.</param>
/// <param name="Network">Per-network policies used by the cluster.</param>
/// <param name="Raft">Raft timing and flow control.</param>
/// <param name="Cluster">Membership: gossip, failure detection, ring tokens (<c>memo.cluster</c>).</param>
public sealed record MemoOptions(
    NodeOptions Node,
    GrpcOptions Grpc,
    StorageOptions Storage,
    ShardOptions Shards,
    KvsOptions Kvs,
    NetworkOptions Network,
    RaftOptions Raft,
    Memo.Node.Cluster.Runtime.ClusterRuntimeOptions Cluster)
{
    /// <summary>Where the defaults file is expected: <c>hocon/memo.conf</c> beside the node's binaries (the build
    /// copies it there).</summary>
    public static string DefaultsFilePath => Path.Combine(AppContext.BaseDirectory, "hocon", "memo.conf");

    /// <summary>Loads the configuration: defaults from <see cref="DefaultsFilePath"/>, then
    /// <paramref name="configFile"/> when given, then each override (a HOCON snippet such as
    /// <c>memo.shards.count=128</c>) in order. Throws <see cref="MemoConfigurationException"/> listing every problem.</summary>
    public static MemoOptions Load(string? configFile, IReadOnlyList<string> overrides) =>
        Load(DefaultsFilePath, configFile, overrides);

    /// <summary>As <see cref="Load(string?, IReadOnlyList{string})"/> with an explicit defaults file.</summary>
    public static MemoOptions Load(string defaultsFile, string? configFile, IReadOnlyList<string> overrides)
    {
        ArgumentNullException.ThrowIfNull(defaultsFile);
        ArgumentNullException.ThrowIfNull(overrides);
        var problems = new List<string>();
        var defaults = ReadFile(defaultsFile, "defaults file", problems);
        var layers = new List<HoconObject>();
        if (configFile is not null && ReadFile(configFile, "config file", problems) is { } user)
        {
            layers.Add(user);
        }

        foreach (var text in overrides)
        {
            if (TryParse(text, $"override '{text}'", problems) is { } layer)
            {
                layers.Add(layer);
            }
        }

        if (problems.Count > 0 || defaults is null)
        {
            throw new MemoConfigurationException(problems);
        }

        return FromLayers(defaults, layers);
    }

    /// <summary>The pure part of <see cref="Load(string, string?, IReadOnlyList{string})"/>: lays
    /// <paramref name="layers"/> over <paramref name="defaults"/>, rejects keys the defaults do not define, reads
    /// and validates. Throws <see cref="MemoConfigurationException"/> listing every problem.</summary>
    public static MemoOptions FromLayers(HoconObject defaults, IReadOnlyList<HoconObject> layers)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        ArgumentNullException.ThrowIfNull(layers);
        var problems = new List<string>();
        var merged = defaults;
        foreach (var layer in layers)
        {
            merged = merged.WithOverrides(KnownKeysOnly(layer, defaults, "", problems));
        }

        // Keep going after unknown keys so that one run reports the ill-typed and invalid values as well.
        var reader = new OptionsReader(merged);
        var options = Read(reader);
        problems.AddRange(reader.Problems);
        if (reader.Problems.Count == 0)
        {
            problems.AddRange(options.Validate());
        }

        return problems.Count > 0 ? throw new MemoConfigurationException(problems) : options;
    }

    /// <summary>Reads every key under <c>memo</c> from a complete configuration tree, without validating rules.
    /// Throws <see cref="MemoConfigurationException"/> naming every missing or ill-typed key.</summary>
    public static MemoOptions FromConfig(HoconObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var reader = new OptionsReader(config);
        var options = Read(reader);
        return reader.Problems.Count > 0 ? throw new MemoConfigurationException(reader.Problems) : options;
    }

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
        Memo.Node.Cluster.Runtime.ClusterRuntimeOptions.Read(reader));

    private static HoconObject? ReadFile(string path, string what, List<string> problems)
    {
        if (!File.Exists(path))
        {
            problems.Add($"{what} '{path}' not found");
            return null;
        }

        return TryParse(File.ReadAllText(path), path, problems);
    }

    private static HoconObject? TryParse(string text, string source, List<string> problems)
    {
        try
        {
            return HoconParser.Parse(text, source);
        }
        catch (HoconException e)
        {
            // Parse errors are collected, not routed: the next source is still parsed so all are reported.
            problems.Add(e.Message);
            return null;
        }
    }

    /// <summary>Reports keys of <paramref name="layer"/> that the defaults do not define, and values whose shape
    /// (object or not) differs from the default's; returns the layer without them, so that reading the merged
    /// tree afterwards reports only problems of its own rather than echoes of these.</summary>
    private static HoconObject KnownKeysOnly(HoconObject layer, HoconObject schema, string prefix, List<string> problems)
    {
        var kept = new List<KeyValuePair<string, HoconValue>>();
        foreach (var key in layer.Keys)
        {
            layer.TryGetField(key, out var value);
            var path = prefix.Length == 0 ? key : prefix + "." + key;
            if (!schema.TryGetField(key, out var expected))
            {
                var hint = Suggest(key, schema.Keys) is { } s ? $"; did you mean '{s}'?" : "";
                problems.Add($"{path} ({value.Position}): unknown key{hint} (known here: {string.Join(", ", schema.Keys)})");
                continue;
            }

            var isObject = value.TryGetObject(out var valueObject);
            var shouldBeObject = expected.TryGetObject(out var expectedObject);
            if (isObject && shouldBeObject)
            {
                kept.Add(new(key, HoconValue.Object(KnownKeysOnly(valueObject, expectedObject, path, problems), value.Position)));
            }
            else if (isObject == shouldBeObject)
            {
                kept.Add(new(key, value));
            }
            else
            {
                problems.Add(shouldBeObject
                    ? $"{path} = {value} ({value.Position}): expected an object with keys {string.Join(", ", expectedObject.Keys)}"
                    : $"{path} ({value.Position}): expected a value, found an object");
            }
        }

        return HoconObject.Create(kept);
    }

    /// <summary>The known key closest to a misspelt one, when it is close enough to be the likely intent.</summary>
    private static string? Suggest(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var d = EditDistance(key, candidate);
            if (d < bestDistance)
            {
                (best, bestDistance) = (candidate, d);
            }
        }

        return bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
