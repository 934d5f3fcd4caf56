using System.Text;
using Memo.Cli.Input;

namespace Memo.Node.Tests.Cli;

public class ValueSourceTests
{
    [Fact]
    public async Task An_argument_is_the_value_as_UTF8_and_stdin_is_not_read()
    {
        var io = new FakeIo(Encoding.UTF8.GetBytes("from stdin"));
        var source = ValueSource.Choose("héllo", null, out var error);
        Assert.Null(error);
        var (bytes, readError) = await source!.ReadAsync(io.Io, CancellationToken.None);
        Assert.Null(readError);
        Assert.Equal(Encoding.UTF8.GetBytes("héllo"), bytes);
        Assert.Equal(0, io.StdinOpened);
    }

    [Fact]
    public async Task A_file_is_read_byte_for_byte_when_there_is_no_argument()
    {
        var path = Path.GetTempFileName();
        try
        {
            byte[] content = [0, 1, 2, 255, 10, 13];
            await File.WriteAllBytesAsync(path, content);
            var io = new FakeIo(Encoding.UTF8.GetBytes("from stdin"));
            var source = ValueSource.Choose(null, path, out _);
            Assert.Equal(new ValueSource.File(path), source);
            var (bytes, _) = await source!.ReadAsync(io.Io, CancellationToken.None);
            Assert.Equal(content, bytes);
            Assert.Equal(0, io.StdinOpened);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("-", null)]
    [InlineData(null, "-")]
    public async Task Stdin_is_read_when_neither_is_given_or_either_is_a_dash(string? argument, string? file)
    {
        var io = new FakeIo([7, 8, 9]);
        var source = ValueSource.Choose(argument, file, out var error);
        Assert.Null(error);
        Assert.IsType<ValueSource.Stdin>(source);
        var (bytes, _) = await source!.ReadAsync(io.Io, CancellationToken.None);
        Assert.Equal([7, 8, 9], bytes);
        Assert.Equal(1, io.StdinOpened);
    }

    [Theory]
    [InlineData("value", "file.bin")]
    [InlineData("-", "file.bin")]
    [InlineData("value", "-")]
    public void An_argument_and_a_file_together_are_refused(string argument, string file)
    {
        Assert.Null(ValueSource.Choose(argument, file, out var error));
        Assert.Equal("give the value either as an argument or with --file, not both", error);
    }

    [Fact]
    public void An_empty_argument_is_an_empty_value_not_stdin()
    {
        Assert.Equal(new ValueSource.Argument(""), ValueSource.Choose("", null, out _));
    }

    [Fact]
    public async Task A_missing_file_is_an_error_naming_it()
    {
        var path = Path.Combine(Path.GetTempPath(), "memo-no-such-file-" + Guid.NewGuid().ToString("N"));
        var (bytes, error) = await new ValueSource.File(path).ReadAsync(new FakeIo().Io, CancellationToken.None);
        Assert.Null(bytes);
        Assert.StartsWith($"cannot read {path}:", error);
    }

    [Fact]
    public async Task Input_beyond_the_limit_is_refused()
    {
        var io = new FakeIo(new byte[1025]);
        var (bytes, error) = await new ValueSource.Stdin().ReadAsync(io.Io, 1024, CancellationToken.None);
        Assert.Null(bytes);
        Assert.Equal("standard input is larger than the limit of 1024 bytes", error);
        var (exact, _) = await new ValueSource.Stdin().ReadAsync(new FakeIo(new byte[1024]).Io, 1024, CancellationToken.None);
        Assert.Equal(1024, exact!.Length);
    }
}
