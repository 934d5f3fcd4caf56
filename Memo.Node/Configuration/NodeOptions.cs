using System.Collections.Immutable;
using System.Globalization;

namespace Memo.Node.Configuration;

/// <summary>This node's identity on the network and its local resources (<c>memo.node</c>).</summary>
/// <param name="Listen">Address the gRPC API serves on, <c>host:port</c>; port 0 asks for an ephemeral port.</param>
/// <param name="DataDirectory">Directory holding the node's database and keys.</param>
/// <param name="Seeds">Remoting endpoints (<c>host:port</c> of <c>memo.node.remote</c>) of members to join through; empty
/// (or this node first) forms a new cluster.</param>
/// <param name="ShutdownGracePeriod">How long shutdown waits for in-flight work and leadership hand-off.</param>
/// <param name="Advertise">The <c>host:port</c> peers reach this node at; empty means the listen address (with the
/// bound port when listening on port 0).</param>
/// <param name="Remote">Address Akka remoting listens on, <c>host:port</c>; port 0 asks for an ephemeral port.</param>
/// <param name="Certificate">PEM file of this node's certificate from the network CA (<c>memo node certify</c>), presented
/// with <c>node.key</c> on Akka remoting (mutual TLS); empty for plaintext remoting.</param>
/// <param name="KekFile">File holding the key-encryption key that wraps the node's data keys (encryption at rest); empty:
/// <c>$MEMO_KEK</c>, if set.</param>
/// <param name="PreviousKekFile">During a KEK rotation, the file holding the previous key-encryption key: data keys it
/// opens are rewrapped with the current one at start; empty: <c>$MEMO_PREVIOUS_KEK</c>, if set.</param>
/// <param name="Peer">Address the TCP peer transport listens on (<c>memo.peer.transport = tcp</c>), <c>host:port</c>; empty:
/// the remoting host with a free port.</param>
/// <param name="PeerAdvertise">The <c>host:port</c> peers dial for the TCP peer transport, announced in the member role
/// <c>peer=</c>, when it differs from <paramref name="Peer"/> (a port forward, a proxy, NAT), like Akka's
/// <c>public-hostname</c>/<c>public-port</c> for remoting; empty: the bound peer address.</param>
public sealed record NodeOptions(
    string Listen,
    string DataDirectory,
    ImmutableArray<string> Seeds,
    TimeSpan ShutdownGracePeriod,
    string Advertise = "",
    string Remote = "127.0.0.1:5091",
    string Certificate = "",
    string KekFile = "",
    string PreviousKekFile = "",
    string Peer = "",
    string PeerAdvertise = "")
{
    internal const string Path = "memo.node";

    /// <summary>Joins a host and a port as <c>host:port</c>, an IPv6 host in brackets (<c>[::1]:5090</c>): the form
    /// <see cref="TryParseHostPort"/> reads.</summary>
    public static string FormatHostPort(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal)
            ? $"[{host}]:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : $"{host}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>Splits <c>host:port</c> (IPv6 hosts in brackets: <c>[::1]:5090</c>); false when the text is not
    /// one or the port is outside 0..65535.</summary>
    public static bool TryParseHostPort(string text, out string host, out int port)
    {
        ArgumentNullException.ThrowIfNull(text);
        host = "";
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        var hostPart = text[..colon];
        if (hostPart.StartsWith('[') != hostPart.EndsWith(']'))
        {
            return false;
        }

        if (hostPart.StartsWith('['))
        {
            hostPart = hostPart[1..^1];
        }
        else if (hostPart.Contains(':', StringComparison.Ordinal))
        {
            // An unbracketed IPv6 address is ambiguous: which colon starts the port?
            return false;
        }

        if (hostPart.Length == 0 || hostPart.Any(char.IsWhiteSpace) ||
            !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) ||
            port > 65535)
        {
            port = 0;
            return false;
        }

        host = hostPart;
        return true;
    }

    /// <inheritdoc />
    public bool Equals(NodeOptions? other) =>
        other is not null && Listen == other.Listen && DataDirectory == other.DataDirectory &&
        Seeds.SequenceEqual(other.Seeds) && ShutdownGracePeriod == other.ShutdownGracePeriod && Advertise == other.Advertise
        && Remote == other.Remote && Certificate == other.Certificate && KekFile == other.KekFile && PreviousKekFile == other.PreviousKekFile
        && Peer == other.Peer && PeerAdvertise == other.PeerAdvertise;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Listen, DataDirectory, Seeds.Length, ShutdownGracePeriod);

    internal static NodeOptions Read(OptionsReader r) => new(
        r.String($"{Path}.listen"),
        r.String($"{Path}.data-directory"),
        r.StringList($"{Path}.seeds"),
        r.Duration($"{Path}.shutdown-grace-period"),
        r.String($"{Path}.advertise"),
        r.String($"{Path}.remote"),
        r.String($"{Path}.certificate"),
        r.String($"{Path}.kek-file"),
        r.String($"{Path}.previous-kek-file"),
        r.String($"{Path}.peer"),
        r.String($"{Path}.peer-advertise"));

    internal void Validate(OptionsValidator v)
    {
        v.Require(TryParseHostPort(Listen, out _, out _), $"{Path}.listen", ConfigText.Quote(Listen),
            "must be host:port with a port in 0..65535 (IPv6 as [addr]:port)");
        v.Require(!string.IsNullOrWhiteSpace(DataDirectory), $"{Path}.data-directory", ConfigText.Quote(DataDirectory),
            "must not be empty");
        for (var i = 0; i < Seeds.Length; i++)
        {
            v.Require(TryParseHostPort(Seeds[i], out _, out var port) && port != 0, $"{Path}.seeds[{i}]",
                ConfigText.Quote(Seeds[i]), "must be host:port with a port in 1..65535");
        }

        v.Require(Advertise.Length == 0 || (TryParseHostPort(Advertise, out var advertisedHost, out var advertisedPort) && advertisedPort != 0
                && advertisedHost is not ("0.0.0.0" or "::")),
            $"{Path}.advertise", ConfigText.Quote(Advertise), "must be empty or host:port with a port in 1..65535 and a host peers can reach");
        v.Require(TryParseHostPort(Remote, out var remoteHost, out _) && remoteHost is not ("0.0.0.0" or "::"), $"{Path}.remote",
            ConfigText.Quote(Remote), "must be host:port with a port in 0..65535 and a host peers can reach (IPv6 as [addr]:port)");
        v.Require(Peer.Length == 0 || TryParseHostPort(Peer, out _, out _), $"{Path}.peer", ConfigText.Quote(Peer),
            "must be empty (the remoting host, a free port) or host:port with a port in 0..65535 (IPv6 as [addr]:port)");
        v.Require(PeerAdvertise.Length == 0 || (TryParseHostPort(PeerAdvertise, out var peerHost, out var peerPort) && peerPort != 0
                && peerHost is not ("0.0.0.0" or "::")),
            $"{Path}.peer-advertise", ConfigText.Quote(PeerAdvertise), "must be empty or host:port with a port in 1..65535 and a host peers can reach");
        v.DurationRange($"{Path}.shutdown-grace-period", ShutdownGracePeriod, TimeSpan.Zero, TimeSpan.FromHours(1));
    }
}
