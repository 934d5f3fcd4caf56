using System.Diagnostics;

namespace Memo.Testing;

/// <summary>
/// Debian's <c>chromium</c> run headless for one page at a time: <c>--dump-dom</c> prints the DOM once the page's
/// scripts have run for a virtual-time budget, <c>--screenshot</c> writes a PNG. No Node, no driver, no DevTools
/// session: each call is one short-lived browser process with its own throw-away profile.
/// </summary>
public static class HeadlessChromium
{
    /// <summary>The browser binary, or null when none is installed (<c>.ci/run</c> installs Debian's <c>chromium</c>).</summary>
    public static string? Binary { get; } = Find();

    /// <summary>The page's DOM after its scripts ran for <paramref name="budget"/> of virtual time.</summary>
    public static async Task<string> DumpDomAsync(string url, TimeSpan budget) =>
        await RunAsync(["--dump-dom", $"--virtual-time-budget={(long)budget.TotalMilliseconds}", url]).ConfigureAwait(false);

    /// <summary>Writes a PNG of the page, <paramref name="width"/> by <paramref name="height"/>, after <paramref name="budget"/> of virtual time.</summary>
    public static async Task ScreenshotAsync(string url, string path, TimeSpan budget, int width = 1280, int height = 1100)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.Delete(path);
        await RunAsync([$"--screenshot={Path.GetFullPath(path)}", $"--window-size={width},{height}",
            $"--virtual-time-budget={(long)budget.TotalMilliseconds}", url]).ConfigureAwait(false);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"chromium wrote no screenshot at {path}.");
        }
    }

    private static async Task<string> RunAsync(string[] arguments)
    {
        var binary = Binary ?? throw new InvalidOperationException(
            "No chromium binary found (chromium, chromium-browser or google-chrome on PATH): install Debian's chromium (apt-get install chromium; .ci/run does).");
        var profile = Path.Combine(Path.GetTempPath(), "memo-chromium-" + Guid.NewGuid().ToString("n"));
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // --no-sandbox: CI runs as root, where Chromium refuses its sandbox. The page is our own dashboard.
        foreach (var argument in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-extensions", "--hide-scrollbars", $"--user-data-dir={profile}", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium did not finish within 60 s: {await stderr.ConfigureAwait(false)}");
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover profile in /tmp is harmless.
            }
        }
        var output = await stdout.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"chromium exited with {process.ExitCode}: {await stderr.ConfigureAwait(false)}");
        }
        return output;
    }

    private static string? Find()
    {
        foreach (var name in (string[])["chromium", "chromium-browser", "google-chrome"])
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }
}
