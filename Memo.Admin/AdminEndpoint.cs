using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Memo.Admin;

/// <summary>
/// Where a node's admin actor is: the node's remoting endpoint (<c>memo.node.remote</c>, <c>--remote</c> of the node)
/// and its network's name, which is the name of its ActorSystem and part of every Akka address.
/// </summary>
/// <param name="Host">Host name or IP address of the remoting endpoint (an IPv6 address without brackets).</param>
/// <param name="Port">Its port, 1..65535.</param>
/// <param name="Network">The network's name (<c>memo.network.name</c>, default <c>memo</c>).</param>
public sealed record AdminEndpoint(string Host, int Port, string Network)
{
    /// <summary>The admin actor's path: <c>akka.tcp://network@host:port/user/memo-admin</c>.</summary>
    public string ActorPath => AdminWire.ActorPath(Network, Host, Port);

    /// <summary>host:port of the remoting endpoint (IPv6 in brackets).</summary>
    public string HostPort => Host.Contains(':', StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"[{Host}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");

    /// <summary>Reads <c>host:port</c> (or <c>[v6]:port</c>) and a network name; says what is wrong otherwise.</summary>
    public static bool TryParse(string? remote, string? network, [NotNullWhen(true)] out AdminEndpoint? endpoint, [NotNullWhen(false)] out string? problem)
    {
        endpoint = null;
        if (!IsValidNetworkName(network))
        {
            problem = $"'{network}' is not a network name (1..64 characters: a letter or digit, then letters, digits, '-' or '_')";
            return false;
        }
        var text = remote?.Trim() ?? "";
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            host = ""; // an IPv6 address needs brackets, or its last group would read as the port
        }
        if (host.Length == 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            problem = $"'{remote}' is not host:port (a node's remoting endpoint, e.g. 127.0.0.1:5091)";
            return false;
        }
        endpoint = new AdminEndpoint(host, port, network!);
        problem = null;
        return true;
    }

    /// <summary>The rule the node applies to <c>memo.network.name</c>, which names its ActorSystem.</summary>
    public static bool IsValidNetworkName([NotNullWhen(true)] string? name) =>
        name is { Length: > 0 and <= 64 } && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <inheritdoc />
    public override string ToString() => $"{HostPort} (network '{Network}')";
}
