using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Memo.Cli;
using Memo.Testing;
using Memo.Testing.Nemesis;
using Spectre.Console;

namespace Memo.Node.Tests.Nemesis;

/// <summary>
/// N node processes, each behind two <see cref="LinkProxy"/>s: one on its remoting port (membership, admin, and Raft on
/// <c>memo.peer.transport = akka</c>) and one on its TCP peer port (Raft and forwarded calls on <c>tcp</c>, the
/// default), sharing one <see cref="Faults"/>, so a fault between two nodes cuts or slows their membership link and
/// their Raft link alike whichever transport runs. Fixed ports and folders, so a node killed with SIGKILL restarts as
/// the same member at the same addresses. Node 0 forms the cluster; the others join through its proxy. Membership and
/// shard leaders are read with <c>memo cluster</c> over remoting (through the proxies, as a connection no node
/// dialled, so never faulted).
/// </summary>
public sealed class NemesisCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly string[] _settings;
    private readonly NodeProcess?[] _nodes;
    private readonly LinkProxy[] _proxies;
    private readonly LinkProxy[] _peerProxies;
    private readonly int[] _apiPorts;
    private readonly int[] _bindPorts;
    private readonly int[] _peerBindPorts;
    private readonly string[] _ids;

    private NemesisCluster(string root, int count, string[] settings, int seed)
    {
        _root = root;
        _settings = settings;
        _nodes = new NodeProcess?[count];
        _ids = new string[count];
        var ports = FreePorts(5 * count, seed);
        _apiPorts = ports[..count];
        _bindPorts = ports[count..(2 * count)];
        _peerBindPorts = ports[(3 * count)..(4 * count)];
        _proxies = Enumerable.Range(0, count)
            .Select(i => new LinkProxy(i, ports[(2 * count) + i], _bindPorts[i], Faults, NodeOfProcess, RunningProcesses, seed + i))
            .ToArray();
        _peerProxies = Enumerable.Range(0, count)
            .Select(i => new LinkProxy(i, ports[(4 * count) + i], _peerBindPorts[i], Faults, NodeOfProcess, RunningProcesses, seed + count + i))
            .ToArray();
    }

    /// <summary>The link faults the proxies apply.</summary>
    public LinkFaults Faults { get; } = new();

    /// <summary>The number of nodes.</summary>
    public int Count => _nodes.Length;

    /// <summary>The proxies on the nodes' remoting ports, by node.</summary>
    public IReadOnlyList<LinkProxy> Proxies => _proxies;

    /// <summary>The proxies on the nodes' TCP peer ports, by node (idle on <c>memo.peer.transport = akka</c>).</summary>
    public IReadOnlyList<LinkProxy> PeerProxies => _peerProxies;

    /// <summary>Resets every open connection between node <paramref name="node"/> and <paramref name="peer"/> (any peer
    /// when null) that was dialled into <paramref name="node"/>, on both its proxies. Returns how many were reset.</summary>
    public int Reset(int node, int? peer = null) => _proxies[node].Reset(peer) + _peerProxies[node].Reset(peer);

    /// <summary>Both proxies' counts summed over every node.</summary>
    public (long Accepted, long Unattributed, long Resets, long Stalls, long Bytes) ProxyCounts
    {
        get
        {
            var all = _proxies.Concat(_peerProxies).Select(p => p.Counts).ToList();
            return (all.Sum(c => c.Accepted), all.Sum(c => c.Unattributed), all.Sum(c => c.Resets), all.Sum(c => c.Stalls), all.Sum(c => c.Bytes));
        }
    }

    /// <summary>host:port of node <paramref name="node"/>'s gRPC API (stable across restarts).</summary>
    public string ApiAddress(int node) => $"127.0.0.1:{_apiPorts[node]}";

    /// <summary>True while node <paramref name="node"/>'s process runs (paused or not).</summary>
    public bool IsRunning(int node) => _nodes[node] is { HasExited: false };

    /// <summary>Starts <paramref name="count"/> nodes under <paramref name="root"/> with <paramref name="settings"/>
    /// (node options, e.g. <c>--set</c> pairs) and waits until every member is Up on every node.</summary>
    public static async Task<NemesisCluster> StartAsync(string root, int count, IEnumerable<string> settings, int seed, TimeSpan timeout)
    {
        var cluster = new NemesisCluster(root, count, [.. settings], seed);
        try
        {
            await cluster.RestartAsync(0).ConfigureAwait(false);
            await Task.WhenAll(Enumerable.Range(1, count - 1).Select(cluster.RestartAsync)).ConfigureAwait(false);
            await cluster.WaitMembersUpAsync(timeout).ConfigureAwait(false);
            for (var i = 0; i < count; i++)
            {
                cluster._ids[i] = (await cluster.ShowAsync(i).ConfigureAwait(false))?.Self ?? throw new InvalidOperationException($"node {i} did not answer cluster show");
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts node <paramref name="node"/> on its folder (it must not be running) and waits until it serves.</summary>
    public async Task RestartAsync(int node)
    {
        if (IsRunning(node))
        {
            throw new InvalidOperationException($"node {node} is running");
        }
        if (_nodes[node] is { } old)
        {
            // Forgotten before the start, so a start that fails leaves no disposed process behind.
            _nodes[node] = null;
            await old.DisposeAsync().ConfigureAwait(false);
        }
        string[] arguments =
        [
            "--set", $"memo.node.listen=\"{ApiAddress(node)}\"",
            "--set", $"memo.node.remote=\"127.0.0.1:{_bindPorts[node]}\"",
            // Peers dial the proxies: the node advertises their ports and binds others behind them.
            "--set", $"akka.remote.dot-netty.tcp.public-port={Port(_proxies[node].Address)}",
            "--set", $"memo.node.peer=\"127.0.0.1:{_peerBindPorts[node]}\"",
            "--set", $"memo.node.peer-advertise=\"{_peerProxies[node].Address}\"",
            .. _settings,
            .. node == 0 ? Array.Empty<string>() : ["--seed", _proxies[0].Address],
        ];
        // A loaded 2-core machine starting several nodes at once (a majority, or all) can take well over the default minute.
        _nodes[node] = await NodeProcess.StartAsync(Path.Combine(_root, $"node{node}"), arguments, TimeSpan.FromMinutes(3)).ConfigureAwait(false);
    }

    /// <summary>SIGKILL of node <paramref name="node"/>.</summary>
    public async Task KillAsync(int node)
    {
        if (_nodes[node] is { } process)
        {
            // A paused process must die too: SIGKILL needs no SIGCONT.
            await process.KillAsync().ConfigureAwait(false);
        }
    }

    /// <summary>SIGSTOP of node <paramref name="node"/>.</summary>
    public void Pause(int node) => _nodes[node]?.Pause();

    /// <summary>SIGCONT of node <paramref name="node"/>.</summary>
    public void Resume(int node) => _nodes[node]?.Resume();

    /// <summary>A member as <c>memo cluster show</c> reports it.</summary>
    public sealed record Member(string Id, string Status, bool Reachable);

    /// <summary>What node <paramref name="node"/> reports in <c>memo cluster show</c>: its id and the members; null when
    /// it does not answer.</summary>
    public async Task<(string Self, IReadOnlyList<Member> Members)?> ShowAsync(int node)
    {
        var (code, output) = await CliAsync("--json", "cluster", "show", "--remote", _proxies[node].Address, "--timeout", "5s").ConfigureAwait(false);
        if (code != ExitCodes.Ok)
        {
            return null;
        }
        using var json = JsonDocument.Parse(output);
        var members = json.RootElement.GetProperty("members").EnumerateArray()
            .Select(m => new Member(m.GetProperty("id").GetString()!, m.GetProperty("status").GetString()!, m.GetProperty("reachable").GetBoolean()))
            .ToList();
        return (json.RootElement.GetProperty("self").GetString()!, members);
    }

    /// <summary>For each shard, the node index of its leader as node <paramref name="node"/> reports it (-1 for none or
    /// unknown); null when it does not answer.</summary>
    public async Task<IReadOnlyDictionary<int, int>?> ShardLeadersAsync(int node)
    {
        var (code, output) = await CliAsync("--json", "cluster", "shards", "--remote", _proxies[node].Address, "--timeout", "5s").ConfigureAwait(false);
        if (code != ExitCodes.Ok)
        {
            return null;
        }
        using var json = JsonDocument.Parse(output);
        return json.RootElement.GetProperty("shards").EnumerateArray()
            .ToDictionary(s => s.GetProperty("shard").GetInt32(), s => Array.IndexOf(_ids, s.GetProperty("leader").GetString()));
    }

    /// <summary>For each shard replica node <paramref name="node"/> hosts, the node indexes of its Raft voters as that
    /// replica knows them (-1 for an id that is no node of this cluster); null when it does not answer.</summary>
    public async Task<IReadOnlyDictionary<int, IReadOnlyList<int>>?> LocalVotersAsync(int node)
    {
        var (code, output) = await CliAsync("--json", "cluster", "shards", "--remote", _proxies[node].Address, "--timeout", "5s").ConfigureAwait(false);
        if (code != ExitCodes.Ok)
        {
            return null;
        }
        using var json = JsonDocument.Parse(output);
        return json.RootElement.GetProperty("localReplicas").EnumerateArray().ToDictionary(
            r => r.GetProperty("shard").GetInt32(),
            r => (IReadOnlyList<int>)r.GetProperty("voters").EnumerateArray().Select(v => Array.IndexOf(_ids, v.GetString())).ToList());
    }

    /// <summary>Waits until every node runs and reports every member Up and reachable.</summary>
    public async Task WaitMembersUpAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        for (var node = 0; node < Count; node++)
        {
            while (!(await ShowAsync(node).ConfigureAwait(false) is { } show && show.Members.Count == Count && show.Members.All(m => m.Status == "up" && m.Reachable)))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"not every member Up and reachable on node {node} within {timeout}: {Describe(await ShowAsync(node).ConfigureAwait(false))}\n{Outputs()}");
                }
                // Polling pace; the condition is re-read each time.
                await Task.Delay(250).ConfigureAwait(false);
            }
        }
    }

    private static string Describe((string Self, IReadOnlyList<Member> Members)? show) =>
        show is not { } s ? "no answer" : string.Join(", ", s.Members.Select(m => $"{m.Id} {m.Status}{(m.Reachable ? "" : " unreachable")}"));

    /// <summary>Everything node <paramref name="node"/>'s current process printed (empty before its first start).</summary>
    public string Output(int node) => _nodes[node]?.Output ?? "";

    /// <summary>The last lines every node printed, for failure messages.</summary>
    public string Outputs(int lines = 60) => string.Join("\n", Enumerable.Range(0, Count).Select(i =>
        $"--- node {i} ({(IsRunning(i) ? "running" : "down")}):\n" + string.Join("\n", (_nodes[i]?.Output ?? "").Split('\n').TakeLast(lines))));

    private int NodeOfProcess(int pid) => Array.FindIndex(_nodes, n => n is { HasExited: false } && n.ProcessId == pid);

    private IReadOnlyCollection<int> RunningProcesses() => _nodes.Where(n => n is { HasExited: false }).Select(n => n!.ProcessId).ToList();

    private static int Port(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    // Fixed ports below Linux's ephemeral range (32768 and up), so another test's port-0 socket cannot take one while
    // a node is down between a kill and its restart.
    private static int[] FreePorts(int count, int seed)
    {
        var random = new Random(seed ^ Environment.ProcessId);
        var ports = new List<int>();
        while (ports.Count < count)
        {
            var port = random.Next(20_000, 32_000);
            if (ports.Contains(port))
            {
                continue;
            }
            try
            {
                using var probe = new TcpListener(IPAddress.Any, port);
                probe.Start();
                ports.Add(port);
            }
            catch (SocketException)
            {
                // Taken; draw another.
            }
        }
        return [.. ports];
    }

    private static async Task<(int Code, string Output)> CliAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(stdout),
        });
        var io = new CliIo(() => Stream.Null, Stream.Null, stdout, stderr, console, _ => null);
        var code = await new MemoCli(io).RunAsync(args).ConfigureAwait(false);
        return (code, code == ExitCodes.Ok ? stdout.ToString() : stderr.ToString());
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // MEMO_NEMESIS_LOGS=<dir>: keep every node's whole output there (a failure message shows only the last lines).
        var logs = Environment.GetEnvironmentVariable("MEMO_NEMESIS_LOGS");
        for (var i = 0; i < _nodes.Length; i++)
        {
            if (_nodes[i] is { } node)
            {
                try
                {
                    await node.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Already gone; every other node must still be killed, and the run's own failure must not be hidden.
                }
                if (!string.IsNullOrEmpty(logs))
                {
                    Directory.CreateDirectory(logs);
                    await File.WriteAllTextAsync(Path.Combine(logs, $"node{i}.log"), node.Output).ConfigureAwait(false);
                }
            }
        }
        foreach (var proxy in _proxies.Concat(_peerProxies))
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
        }
    }
}
