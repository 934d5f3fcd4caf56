namespace Memo.Node.Configuration;

/// <summary>The metrics port (<c>memo.metrics</c>): Prometheus <c>/metrics</c>, health probes and the dashboard.</summary>
/// <param name="Listen">The <c>host:port</c> to serve plain HTTP on; empty (the default) serves nothing. Port 0 picks
/// a free port.</param>
/// <param name="OtlpEndpoint">Where to push traces and metrics with OTLP (an OpenTelemetry collector's URL); empty
/// pushes nothing.</param>
public sealed record MetricsOptions(string Listen, string OtlpEndpoint = "")
{
    internal const string Path = "memo.metrics";

    /// <summary>True when the node serves the metrics port.</summary>
    public bool Enabled => Listen.Length > 0;

    internal static MetricsOptions Read(OptionsReader r) => new(
        r.String($"{Path}.listen"),
        r.String($"{Path}.otlp-endpoint"));

    internal void Validate(OptionsValidator v)
    {
        v.Require(Listen.Length == 0 || NodeOptions.TryParseHostPort(Listen, out _, out _), $"{Path}.listen", ConfigText.Quote(Listen),
            "must be empty (no metrics port) or host:port with a port in 0..65535 (IPv6 as [addr]:port)");
        v.Require(OtlpEndpoint.Length == 0 || (Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"),
            $"{Path}.otlp-endpoint", ConfigText.Quote(OtlpEndpoint), "must be empty or an http:// or https:// URL, e.g. http://127.0.0.1:4317");
    }
}
