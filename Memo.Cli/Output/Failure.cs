namespace Memo.Cli.Output;

/// <summary>Why a command failed: its exit code, one line for a human, and the gRPC status name when a node gave one.</summary>
internal sealed record Failure(int ExitCode, string Message, string? Status);
