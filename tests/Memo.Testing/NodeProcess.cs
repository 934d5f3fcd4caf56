using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Memo.Testing;

/// <summary>
/// A Memo node running as a separate OS process (<c>dotnet Memo.Node.dll</c>), for tests that kill it with
/// SIGKILL and restart it on the same data folder. Its output is kept for failure messages.
/// </summary>
public sealed partial class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private int _disposed;
    private readonly TaskCompletionSource<(string Api, string Remote)> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(Process process) => _process = process;

    /// <summary>host:port the node's gRPC API listens on.</summary>
    public string Address { get; private set; } = "";

    /// <summary>host:port the node's Akka remoting listens on.</summary>
    public string RemoteAddress { get; private set; } = "";

    /// <summary>The metrics port's base URL (<c>http://host:port</c>) when the node was started with <c>--metrics</c>, else null.</summary>
    public string? MetricsUrl { get; private set; }

    /// <summary>The process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Everything the node printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output);
            }
        }
    }

    /// <summary>Starts a node process on <paramref name="dataDirectory"/> listening on an ephemeral loopback port and waits until it serves.</summary>
    public static async Task<NodeProcess> StartAsync(string dataDirectory, IEnumerable<string>? extraArguments = null, TimeSpan? startTimeout = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(NodeAssembly);
        foreach (var argument in (string[])["--listen", "127.0.0.1:0", "--remote", "127.0.0.1:0", "--data", dataDirectory, .. extraArguments ?? []])
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["MEMO_LOG_FORMAT"] = "";
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var node = new NodeProcess(process);
        process.OutputDataReceived += (_, e) => node.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => node.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(_ => node._listening.TrySetException(
            new InvalidOperationException($"The node process exited with code {process.ExitCode} before serving:\n{node.Output}")), TaskScheduler.Default);

        var timeout = startTimeout ?? TimeSpan.FromSeconds(60);
        try
        {
            (node.Address, node.RemoteAddress) = await node._listening.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await node.KillAsync().ConfigureAwait(false);
            throw new TimeoutException($"The node process did not report listening within {timeout}:\n{node.Output}");
        }
        return node;
    }

    /// <summary>
    /// <see cref="StartAsync"/> for a restart on fixed ports: while the process exits because a port it was given is
    /// taken (another process's connection can draw a freed port as its ephemeral one), tries again, for up to
    /// <paramref name="patience"/> (default 30 s).
    /// </summary>
    public static async Task<NodeProcess> StartOnFixedPortsAsync(string dataDirectory, IEnumerable<string> extraArguments, TimeSpan? patience = null)
    {
        var arguments = extraArguments.ToArray();
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                return await StartAsync(dataDirectory, arguments).ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (DateTime.UtcNow < deadline
                && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // Polling pause between attempts, not synchronisation: the port's holder is another process.
                await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Add(line);
        }
        var metrics = MetricsLine().Match(line);
        if (metrics.Success)
        {
            MetricsUrl = metrics.Groups[1].Value;
        }
        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult((match.Groups[1].Value, match.Groups[2].Value));
        }
    }

    /// <summary>Kills the process with SIGKILL (no graceful stop) and waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary>Sends SIGTERM and waits for a graceful exit; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
        }
        await _process.WaitForExitAsync().WaitAsync(timeout).ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>Stops the process with SIGSTOP (a pause: it keeps its sockets and state, and runs nothing).</summary>
    public void Pause() => Signal(19);

    /// <summary>Resumes a paused process with SIGCONT.</summary>
    public void Resume() => Signal(18);

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    private void Signal(int signal)
    {
        if (!_process.HasExited && Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the process to exit by itself (it left, or was downed); returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout).ConfigureAwait(false);
        return _process.ExitCode;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Path of Memo.Node.dll: next to the test assembly (project reference) when it can run from there.</summary>
    public static string NodeAssembly
    {
        get
        {
            var local = Path.Combine(AppContext.BaseDirectory, "Memo.Node.dll");
            if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "Memo.Node.runtimeconfig.json")))
            {
                return local;
            }
            throw new FileNotFoundException($"Memo.Node.dll with its runtimeconfig was not found in {AppContext.BaseDirectory}.");
        }
    }

    [GeneratedRegex(@"listening on (\S+) \(gRPC\) and (\S+) \(Akka remoting\)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"Metrics, health and dashboard on (http://\S+)")]
    private static partial Regex MetricsLine();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
    }
}
