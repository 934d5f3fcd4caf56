using System.CommandLine;
using Spectre.Console;

namespace Memo.Cli.Commands;

/// <summary><c>memo kv list</c>: keys by prefix, after a marker, rolled up at a delimiter; one page or <c>--all</c>.</summary>
internal sealed class KvListCommand
{
    /// <summary>Page size when <c>--max-keys</c> is not given.</summary>
    public const ulong DefaultMaxKeys = 1000;

    /// <summary>The largest page a client asks for.</summary>
    public const ulong MaxMaxKeys = 100_000;

    private readonly GlobalOptions _global;
    private readonly CliIo _io;

    public KvListCommand(GlobalOptions global, CliIo io)
    {
        _global = global;
        _io = io;
        Prefix = new Option<string>("--prefix", "-p") { Description = "Only keys starting with this", DefaultValueFactory = _ => "" };
        Marker = new Option<string>("--marker", "-m") { Description = "Start after this key", DefaultValueFactory = _ => "" };
        Delimiter = new Option<string>("--delimiter", "-d") { Description = "Roll up keys sharing the text up to this delimiter into one prefix (e.g. /)", DefaultValueFactory = _ => "" };
        MaxKeys = GlobalOptions.NumberOption("--max-keys", "-n", DefaultMaxKeys, 1UL, MaxMaxKeys, "Page size");
        All = new Option<bool>("--all", "-a") { Description = "Page through every matching key" };
        Command = new Command("list", "List keys (a table of keys and rolled-up prefixes)") { Prefix, Marker, Delimiter, MaxKeys, All };
        Command.SetAction((result, cancellationToken) => ExecuteAsync(Bind(result), cancellationToken));
    }

    /// <summary>The <c>list</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>--prefix</c>.</summary>
    public Option<string> Prefix { get; }

    /// <summary><c>--marker</c>.</summary>
    public Option<string> Marker { get; }

    /// <summary><c>--delimiter</c>.</summary>
    public Option<string> Delimiter { get; }

    /// <summary><c>--max-keys</c>.</summary>
    public Option<ulong> MaxKeys { get; }

    /// <summary><c>--all</c>.</summary>
    public Option<bool> All { get; }

    /// <summary>Reads the command's settings from a parse result.</summary>
    public Settings Bind(ParseResult result) => new(
        _global.Bind(result),
        result.GetValue(Prefix) ?? "",
        result.GetValue(Marker) ?? "",
        result.GetValue(Delimiter) ?? "",
        result.GetValue(MaxKeys),
        result.GetValue(All));

    private Task<int> ExecuteAsync(Settings settings, CancellationToken cancellationToken) =>
        CommandGuard.RunAsync(_io, settings.Connection, async reporter =>
        {
            KeyListing listing;
            using (var client = settings.Connection.Connect())
            {
                listing = await KeyListing.CollectAsync(
                    (marker, ct) => client.ListAsync(settings.Prefix, marker, settings.Delimiter, settings.MaxKeys, ct),
                    settings.Marker, settings.All, KeyListing.MaxEntries, cancellationToken).ConfigureAwait(false);
            }
            if (settings.Connection.Json)
            {
                WriteJson(listing);
            }
            else
            {
                WriteTable(listing);
            }
            return listing.Problem is null ? ExitCodes.Ok : reporter.Fail(ExitCodes.Other, listing.Problem);
        }, cancellationToken);

    private void WriteJson(KeyListing listing) =>
        _io.WriteLine(Output.Json.Write(w =>
        {
            w.WriteStartArray("keys");
            foreach (var key in listing.Keys)
            {
                w.WriteStringValue(key);
            }
            w.WriteEndArray();
            w.WriteStartArray("prefixes");
            foreach (var prefix in listing.Prefixes)
            {
                w.WriteStringValue(prefix);
            }
            w.WriteEndArray();
            w.WriteBoolean("truncated", listing.Truncated);
            if (listing.NextMarker is null)
            {
                w.WriteNull("nextMarker");
            }
            else
            {
                w.WriteString("nextMarker", listing.NextMarker);
            }
        }));

    private void WriteTable(KeyListing listing)
    {
        var console = _io.Console;
        if (listing.Keys.Count + listing.Prefixes.Count > 0)
        {
            var table = new Table().Border(TableBorder.Simple).AddColumn("key").AddColumn("kind");
            // Prefixes first: they summarise many keys, and a delimiter listing reads like a directory.
            foreach (var prefix in listing.Prefixes)
            {
                table.AddRow(new Text(prefix), new Markup("[blue]prefix[/]"));
            }
            foreach (var key in listing.Keys)
            {
                table.AddRow(new Text(key), new Text("key"));
            }
            console.Write(table);
        }
        var summary = $"{listing.Keys.Count} key{(listing.Keys.Count == 1 ? "" : "s")}";
        if (listing.Prefixes.Count > 0)
        {
            summary += $", {listing.Prefixes.Count} prefix{(listing.Prefixes.Count == 1 ? "" : "es")}";
        }
        _io.WriteLine(summary);
        if (listing.Truncated && listing.NextMarker is { } next)
        {
            _io.WriteLine($"truncated: more after {next} (continue with --marker {Quote(next)}, or use --all)");
        }
    }

    private static string Quote(string text) => text.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"') ? $"'{text.Replace("'", "'\\''")}'" : text;

    /// <summary>What <c>kv list</c> was asked to do.</summary>
    public sealed record Settings(ConnectionSettings Connection, string Prefix, string Marker, string Delimiter, ulong MaxKeys, bool All);
}
