using Memo.Cli.Output;

namespace Memo.Cli.Input;

/// <summary>
/// Where a command's value or block data comes from. Precedence: the positional argument, else <c>--file</c>,
/// else standard input. <c>-</c> in either place means standard input. Giving both an argument and <c>--file</c>
/// (even <c>-</c>) is a usage error rather than a silent choice.
/// </summary>
internal abstract record ValueSource
{
    /// <summary>The largest value read from any source: the largest block payload a node stores.</summary>
    public const int MaxBytes = Memo.Protocol.Blocks.BlockLimits.MaxDataBytes;

    private ValueSource() { }

    /// <summary>The argument's text, encoded as UTF-8.</summary>
    public sealed record Argument(string Text) : ValueSource;

    /// <summary>A file's bytes.</summary>
    public sealed record File(string Path) : ValueSource;

    /// <summary>Standard input, to its end.</summary>
    public sealed record Stdin : ValueSource;

    /// <summary>Chooses the source from the argument and the <c>--file</c> option; null with an error message on a conflict.</summary>
    public static ValueSource? Choose(string? argument, string? file, out string? error)
    {
        error = null;
        var hasArgument = argument is not null && argument != "-";
        var hasFile = file is not null && file != "-";
        if (argument is not null && file is not null)
        {
            error = "give the value either as an argument or with --file, not both";
            return null;
        }
        if (hasArgument)
        {
            return new Argument(argument!);
        }
        if (hasFile)
        {
            return new File(file!);
        }
        return new Stdin();
    }

    /// <summary>Reads the bytes; null with an error message when the file is unreadable or the value too large.</summary>
    public Task<(byte[]? Bytes, string? Error)> ReadAsync(CliIo io, CancellationToken cancellationToken) =>
        ReadAsync(io, MaxBytes, cancellationToken);

    /// <summary>Reads at most <paramref name="maxBytes"/> bytes; more is an error.</summary>
    public async Task<(byte[]? Bytes, string? Error)> ReadAsync(CliIo io, int maxBytes, CancellationToken cancellationToken)
    {
        switch (this)
        {
            case Argument a:
                var bytes = System.Text.Encoding.UTF8.GetBytes(a.Text);
                return bytes.Length > maxBytes ? (null, TooLarge("the argument", maxBytes)) : (bytes, null);
            case File f:
                FileStream stream;
                try
                {
                    stream = new FileStream(f.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    return (null, $"cannot read {f.Path}: {Errors.Describe(e)}");
                }
                await using (stream.ConfigureAwait(false))
                {
                    return await ReadBoundedAsync(stream, f.Path, maxBytes, cancellationToken).ConfigureAwait(false);
                }
            default:
                var stdin = io.OpenStdin();
                return await ReadBoundedAsync(stdin, "standard input", maxBytes, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<(byte[]? Bytes, string? Error)> ReadBoundedAsync(Stream stream, string what, int maxBytes, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                return (null, $"cannot read {what}: {Errors.Describe(e)}");
            }
            if (read == 0)
            {
                return (buffer.ToArray(), null);
            }
            if (buffer.Length + read > maxBytes)
            {
                return (null, TooLarge(what, maxBytes));
            }
            buffer.Write(chunk, 0, read);
        }
    }

    private static string TooLarge(string what, int maxBytes) => $"{what} is larger than the limit of {maxBytes} bytes";
}
