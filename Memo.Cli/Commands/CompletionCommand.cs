using System.CommandLine;

namespace Memo.Cli.Commands;

/// <summary>
/// <c>memo completion bash|zsh|fish</c>: prints a completion script for the shell. The script asks <c>memo</c> itself
/// for the candidates through System.CommandLine's <c>[suggest:POSITION]</c> directive, so it always matches the
/// installed version's commands and options, and never needs regenerating.
/// </summary>
internal sealed class CompletionCommand
{
    private readonly CliIo _io;

    public CompletionCommand(CliIo io)
    {
        _io = io;
        Shell = new Argument<string>("shell") { Description = "bash, zsh or fish" };
        Shell.AcceptOnlyFromAmong("bash", "zsh", "fish");
        Command = new Command("completion", "Print a shell completion script, e.g. memo completion bash > /etc/bash_completion.d/memo") { Shell };
        Command.SetAction(result =>
        {
            _io.Out.Write(Script(result.GetValue(Shell)!));
            return ExitCodes.Ok;
        });
    }

    /// <summary>The <c>completion</c> command.</summary>
    public Command Command { get; }

    /// <summary>The shell argument.</summary>
    public Argument<string> Shell { get; }

    /// <summary>The completion script for <paramref name="shell"/>.</summary>
    public static string Script(string shell) => shell switch
    {
        "bash" => """
            # memo completion for bash: source it, or put it in /etc/bash_completion.d/memo
            _memo_complete() {
              local IFS=$'\n'
              local candidates
              candidates=$(memo "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
              COMPREPLY=( $(compgen -W "${candidates}" -- "${COMP_WORDS[COMP_CWORD]}") )
            }
            complete -o default -F _memo_complete memo

            """,
        "zsh" => """
            # memo completion for zsh: source it from ~/.zshrc
            _memo_complete() {
              local -a candidates
              candidates=("${(@f)$(memo "[suggest:${#BUFFER}]" "${BUFFER}" 2>/dev/null)}")
              compadd -- $candidates
            }
            compdef _memo_complete memo

            """,
        _ => """
            # memo completion for fish: save as ~/.config/fish/completions/memo.fish
            complete -c memo -f -a '(set -l line (commandline -cp); memo "[suggest:"(string length -- $line)"]" "$line" 2>/dev/null)'

            """,
    };
}
