using System.Security.Cryptography;
using Memo.Cli;
using Memo.Node.Tests.Cli;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;
using Memo.Testing;

namespace Memo.Node.Tests.Security;

/// <summary>
/// A network created with an owner, run as node processes and driven through the <c>memo</c> CLI the way its users
/// would: one CLI config folder (<see cref="Home"/>) holds every user's key and passport, the owner signs with
/// <c>--as owner</c>. Shared by the process tests of users, passports and ACL blocks.
/// </summary>
internal sealed class OwnedProcessNetwork : IAsyncDisposable
{
    /// <summary>How long one phase of a test may wait for a condition.</summary>
    public static readonly TimeSpan Phase = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "memo-owned-" + Guid.NewGuid().ToString("n"));
    private readonly List<NodeProcess> _nodes = [];

    /// <summary>The CLI's config folder (users, passports).</summary>
    public string Home => Path.Combine(_root, "home");

    /// <summary>The folder <c>memo network create --dir</c> wrote (<c>owner.pub</c>).</summary>
    public string CaDirectory => Path.Combine(_root, "ca");

    /// <summary>The nodes started so far, in start order.</summary>
    public IReadOnlyList<NodeProcess> Nodes => _nodes;

    /// <summary>The data folder of node <paramref name="index"/> (0-based).</summary>
    public string DataDirectory(int index) => Path.Combine(_root, $"node{index + 1}");

    /// <summary>Settings every node of these tests runs with: few shards, fast Raft and Akka timing, the owner.</summary>
    public string[] NodeSettings =>
    [
        "--shards", "4",
        "--set", "memo.raft.tick-interval=20ms",
        .. InProcessCluster.FastAkkaCluster.SelectMany(setting => new[] { "--set", setting.Replace(" = ", "=", StringComparison.Ordinal) }),
        "--set", "memo.network.eviction-delay=1h",
        "--set", $"memo.network.owner=\"{Path.Combine(CaDirectory, "owner.pub")}\"",
        "--set", "memo.security.revocation-refresh=200ms",
    ];

    /// <summary>Creates the users <c>owner</c> and <paramref name="users"/>, and the network owned by <c>owner</c>.</summary>
    public async Task CreateAsync(params string[] users)
    {
        foreach (var user in users.Prepend("owner"))
        {
            await CliAsync("user", "create", user);
        }
        await CliAsync("network", "create", "--dir", CaDirectory, "--owner", "owner");
    }

    /// <summary>
    /// Starts <paramref name="count"/> nodes, the first forming the cluster and the others joining through it, each with
    /// the storage passport the owner issues into its data folder (<c>memo passport create --node DIR --allow storage</c>).
    /// </summary>
    public async Task StartNodesAsync(int count, params string[] extraSettings)
    {
        for (var i = 0; i < count; i++)
        {
            await CliAsync("passport", "create", "--node", DataDirectory(_nodes.Count), "--allow", "storage", "--as", "owner");
            _nodes.Add(await StartNodeAsync(_nodes.Count, extraSettings));
        }
    }

    /// <summary>Starts the node of data folder <paramref name="index"/> as it is (passport or not), joining node 1 unless it is node 1.</summary>
    public Task<NodeProcess> StartNodeAsync(int index, params string[] extraSettings)
    {
        string[] seed = _nodes.Count == 0 ? [] : ["--seed", _nodes[0].RemoteAddress];
        return NodeProcess.StartAsync(DataDirectory(index), [.. NodeSettings, .. extraSettings, .. seed]);
    }

    /// <summary>Runs <c>memo</c> on <see cref="Home"/>; the exit code and what it printed.</summary>
    public async Task<(int Code, FakeIo Io)> RunAsync(params string[] args)
    {
        var io = new FakeIo();
        var code = await new MemoCli(io.Io).RunAsync([.. args, "--home", Home]);
        return (code, io);
    }

    /// <summary>Runs <c>memo</c> and asserts it succeeded; returns what it printed.</summary>
    public async Task<FakeIo> CliAsync(params string[] args)
    {
        var (code, io) = await RunAsync(args);
        Assert.True(code == ExitCodes.Ok, $"memo {string.Join(' ', args)} exited {code}: {io.Err}");
        return io;
    }

    /// <summary>A user's private key file (what <c>--key</c> takes).</summary>
    public string KeyFile(string user) => Path.Combine(Home, "users", user + ".key");

    /// <summary>A user's public key file (what <c>--reader</c>, <c>--user</c> and <c>--member</c> take).</summary>
    public string PublicKeyFile(string user) => Path.Combine(Home, "users", user + ".pub");

    /// <summary>A user's public key, as blocks name it.</summary>
    public MemoPublicKey PublicKey(string user) => MemoUser.PublicKeyFromPem(File.ReadAllText(PublicKeyFile(user)));

    /// <summary>A user's key pair and stored passport, read from <see cref="Home"/> as <c>memo --as</c> reads them.</summary>
    public UserCredentials Credentials(string user)
    {
        var pem = File.ReadAllText(KeyFile(user));
        var key = MemoKeyPair.FromPkcs8(Convert.FromBase64String(pem[PemEncoding.Find(pem).Base64Data]));
        var passport = Passport.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(Home, "passports", user + ".passport")));
        return new UserCredentials(key, passport);
    }

    /// <summary>Waits until <paramref name="condition"/> holds; on timeout fails with the phase and every node's output.</summary>
    public async Task WaitAsync(Func<Task<bool>> condition, string phase)
    {
        var deadline = DateTime.UtcNow + Phase;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"phase '{phase}' not reached within {Phase}.\n" + string.Join("\n---\n", _nodes.Select(n => n.Output)));
            }
            // Polling pause, not synchronisation: the condition is re-checked each time.
            await Task.Delay(200);
        }
    }

    /// <summary>Kills the nodes and deletes every folder.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
