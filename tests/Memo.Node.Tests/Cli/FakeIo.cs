using System.Text;
using Memo.Cli;
using Spectre.Console;

namespace Memo.Node.Tests.Cli;

/// <summary>A <see cref="CliIo"/> over in-memory streams and a dictionary environment, for running commands in tests.</summary>
internal sealed class FakeIo
{
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    public FakeIo(byte[]? stdin = null)
    {
        StdinBytes = stdin ?? [];
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Out),
        });
        Io = new CliIo(() => { StdinOpened++; return new MemoryStream(StdinBytes); }, Stdout, Out, Err, console, name => _environment.GetValueOrDefault(name));
    }

    public byte[] StdinBytes { get; }
    public int StdinOpened { get; private set; }
    public MemoryStream Stdout { get; } = new();
    public StringWriter Out { get; } = new();
    public StringWriter Err { get; } = new();
    public CliIo Io { get; }

    public FakeIo WithEnvironment(string name, string value)
    {
        _environment[name] = value;
        return this;
    }

    public string StdoutText => Encoding.UTF8.GetString(Stdout.ToArray());
}
