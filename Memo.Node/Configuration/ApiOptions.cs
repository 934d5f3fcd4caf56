using System.Net;

namespace Memo.Node.Configuration;

/// <summary>The public gRPC API's transport security (<c>memo.api</c>).</summary>
/// <param name="TlsCertificate">PEM file of the certificate the API serves TLS 1.3 with; empty for cleartext (h2c).</param>
/// <param name="TlsKey">PEM file of that certificate's private key; empty exactly when <paramref name="TlsCertificate"/> is.</param>
/// <param name="Insecure">Serve cleartext on a non-loopback address anyway (the node warns at every start).</param>
public sealed record ApiOptions(string TlsCertificate, string TlsKey, bool Insecure)
{
    internal const string Path = "memo.api";

    private static readonly Dictionary<string, bool> Switch = new(StringComparer.Ordinal)
    {
        ["on"] = true, ["off"] = false, ["true"] = true, ["false"] = false, ["yes"] = true, ["no"] = false,
    };

    /// <summary>True when the API serves TLS.</summary>
    public bool Tls => TlsCertificate.Length > 0;

    /// <summary>True when <paramref name="host"/> (of <c>memo.node.listen</c>) can only be reached from this machine.</summary>
    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    internal static ApiOptions Read(OptionsReader r) => new(
        r.String($"{Path}.tls.certificate"),
        r.String($"{Path}.tls.key"),
        r.Choice($"{Path}.insecure", Switch));

    internal void Validate(OptionsValidator v)
    {
        v.Require(TlsCertificate.Length > 0 == TlsKey.Length > 0, $"{Path}.tls",
            $"certificate = {ConfigText.Quote(TlsCertificate)}, key = {ConfigText.Quote(TlsKey)}", "needs both a certificate and a key file, or neither");
    }
}
