using Memo.Node.Storage;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Storage;

/// <summary>The contract run against <see cref="SqliteSilo"/> with default options, each silo in its own temporary folder.</summary>
public sealed class SqliteSiloContractTests(ITestOutputHelper output) : SqliteSiloContractBase(output, inlineCommits: false);

/// <summary>
/// The same contract with <see cref="SqliteSiloOptions.InlineCommits"/> on: a lone batch commits on the caller's thread,
/// concurrent ones through the writer thread, and the contract's FIFO durability and read-your-commit rules hold across both.
/// </summary>
public sealed class SqliteSiloInlineCommitContractTests(ITestOutputHelper output) : SqliteSiloContractBase(output, inlineCommits: true);

/// <summary>
/// The same contract with <see cref="SqliteSiloOptions.CopyFileThreshold"/> at 1 byte: every block copy of two bytes or
/// more is stored in a copy file of its own, its row naming the file, and the contract holds all the same.
/// </summary>
public sealed class SqliteSiloCopyFileContractTests(ITestOutputHelper output) : SqliteSiloContractBase(output, inlineCommits: false, copyFileThreshold: 1);

/// <summary>
/// The same contract with <see cref="SqliteSiloOptions.WriterSpin"/> at 2 ms: the idle writer thread polls its queue
/// before it sleeps, so most batches are taken by a polling writer rather than a woken one, and closing the silo while it
/// polls still ends it.
/// </summary>
public sealed class SqliteSiloWriterSpinContractTests(ITestOutputHelper output)
    : SqliteSiloContractBase(output, inlineCommits: false, writerSpin: TimeSpan.FromMilliseconds(2));

/// <summary>Runs the contract against <see cref="SqliteSilo"/>, each silo in its own temporary folder.</summary>
public abstract class SqliteSiloContractBase(ITestOutputHelper output, bool inlineCommits, int? copyFileThreshold = null, TimeSpan writerSpin = default)
    : DurableSiloContract(output)
{
    private readonly TempDirectory _root = new();
    private readonly Dictionary<ISilo, SqliteSiloOptions> _options = new(ReferenceEqualityComparer.Instance);
    private int _created;

    protected override int ModelCheckCases => 60;

    protected override async Task<ISilo> CreateSiloAsync()
    {
        var options = new SqliteSiloOptions
        {
            DataDirectory = Path.Combine(_root.Path, $"silo{Interlocked.Increment(ref _created)}"),
            InlineCommits = inlineCommits,
            WriterSpin = writerSpin,
            // The default unless a subclass sets one: the contract's copies are a few bytes, so they stay in their rows.
            CopyFileThreshold = copyFileThreshold ?? new SqliteSiloOptions { DataDirectory = "." }.CopyFileThreshold,
        };
        var silo = await SqliteSilo.OpenAsync(options);
        lock (_options)
        {
            _options[silo] = options;
        }
        return silo;
    }

    protected override async Task<ISilo> ReopenAsync(ISilo silo)
    {
        SqliteSiloOptions options;
        lock (_options)
        {
            options = _options[silo];
        }
        await silo.DisposeAsync();
        var reopened = await SqliteSilo.OpenAsync(options);
        lock (_options)
        {
            _options[reopened] = options;
        }
        return reopened;
    }

    protected override void SetFaultInjector(ISilo silo, Func<SiloOperation, Exception?>? injector) =>
        ((SqliteSilo)silo).FaultInjector = injector;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _root.Dispose();
    }
}
