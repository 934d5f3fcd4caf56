using System.Diagnostics;
using Memo.Node.Shards.Wire;

namespace Memo.Node.Metrics;

/// <summary>
/// The node's spans (activity source <see cref="SourceName"/>): one on each side of a request forwarded to a shard
/// leader over the peer links, so a trace shows API node → leader. The caller's context travels in the forwarding
/// envelope (<c>traceparent</c>); the gRPC request's own span comes from ASP.NET Core. Nothing is recorded unless a
/// listener is attached: the node's OTLP exporter (<c>memo.metrics.otlp-endpoint</c>) or a test's.
/// </summary>
public static class NodeTracing
{
    /// <summary>The name of the node's activity source.</summary>
    public const string SourceName = "Memo.Node";

    /// <summary>The node's activity source.</summary>
    public static ActivitySource Source { get; } = new(SourceName, typeof(NodeTracing).Assembly.GetName().Version?.ToString());

    /// <summary>Starts the span of a forwarded call of kind <paramref name="body"/>: the caller's (client) or the leader's
    /// (server, under <paramref name="parent"/>); null when nobody listens.</summary>
    internal static Activity? StartForward(ForwardingEnvelope.BodyOneofCase body, ActivityKind kind, ActivityContext parent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        var name = body switch
        {
            ForwardingEnvelope.BodyOneofCase.Propose => kind == ActivityKind.Client ? "memo.forward propose" : "memo.serve propose",
            ForwardingEnvelope.BodyOneofCase.Read => kind == ActivityKind.Client ? "memo.forward read" : "memo.serve read",
            _ => kind == ActivityKind.Client ? "memo.forward status" : "memo.serve status",
        };
        return Source.StartActivity(name, kind, parent);
    }
}
