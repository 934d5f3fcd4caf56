using Spectre.Console;

namespace Memo.Cli;

/// <summary>
/// Everything a command touches outside the process: standard streams, the environment and the current directory.
/// Commands never use <see cref="Console"/> directly, so tests can run them against in-memory streams.
/// </summary>
internal sealed class CliIo
{
    /// <param name="stdin">Opens standard input; called at most once per command, only when a value is read from it.</param>
    /// <param name="stdout">Raw standard output: values and block data go here byte for byte.</param>
    /// <param name="output">Text on standard output: status lines and JSON results.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="console">Tables, written to standard output through <paramref name="output"/>.</param>
    /// <param name="getEnvironmentVariable">Reads an environment variable; null when unset.</param>
    public CliIo(Func<Stream> stdin, Stream stdout, TextWriter output, TextWriter stderr, IAnsiConsole console, Func<string, string?> getEnvironmentVariable)
    {
        OpenStdin = stdin;
        Stdout = stdout;
        Out = output;
        Stderr = stderr;
        Console = console;
        GetEnvironmentVariable = getEnvironmentVariable;
    }

    /// <summary>Opens standard input.</summary>
    public Func<Stream> OpenStdin { get; }

    /// <summary>Raw standard output.</summary>
    public Stream Stdout { get; }

    /// <summary>Text on standard output. Plain lines go here rather than through <see cref="Console"/>, which would wrap them at the terminal width.</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error.</summary>
    public TextWriter Stderr { get; }

    /// <summary>Tables and other rich output.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Reads an environment variable.</summary>
    public Func<string, string?> GetEnvironmentVariable { get; }

    /// <summary>The real process streams and environment.</summary>
    public static CliIo FromProcess()
    {
        // Console.Out flushes on every write, so text and raw bytes on standard output stay in order.
        // Redirected output (a pipe, a file, a script capturing it) gets no escape sequences.
        var console = System.Console.IsOutputRedirected
            ? AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(System.Console.Out),
            })
            : AnsiConsole.Console;
        return new CliIo(
            System.Console.OpenStandardInput,
            System.Console.OpenStandardOutput(),
            System.Console.Out,
            System.Console.Error,
            console,
            Environment.GetEnvironmentVariable);
    }

    /// <summary>Writes one line of text (a status line or a JSON result) to standard output.</summary>
    public void WriteLine(string text) => Out.WriteLine(text);
}
