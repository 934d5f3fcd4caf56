using System.Text.Json;

namespace Memo.Cli.Output;

/// <summary>
/// Writes a command's failure to standard error: <c>error: ...</c> for people, or with <c>--json</c> one object
/// <c>{"error":{"exitCode":3,"status":"NotFound","message":"..."}}</c> for programs.
/// </summary>
internal sealed class Reporter(CliIo io, bool json)
{
    /// <summary>Reports the failure; returns its exit code so a command can <c>return reporter.Fail(...)</c>.</summary>
    public int Fail(Failure failure)
    {
        if (json)
        {
            io.Stderr.WriteLine(Json.Write(w =>
            {
                w.WriteStartObject("error");
                w.WriteNumber("exitCode", failure.ExitCode);
                if (failure.Status is null)
                {
                    w.WriteNull("status");
                }
                else
                {
                    w.WriteString("status", failure.Status);
                }
                w.WriteString("message", failure.Message);
                w.WriteEndObject();
            }));
        }
        else
        {
            io.Stderr.WriteLine("error: " + failure.Message);
        }
        io.Stderr.Flush();
        return failure.ExitCode;
    }

    /// <summary>Reports a failure that did not come from a node.</summary>
    public int Fail(int exitCode, string message) => Fail(new Failure(exitCode, message, null));
}
