using System.Buffers;
using System.Net.Sockets;
using Google.Protobuf;
using Memo.Protocol.Grpc;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Memo.Node.Api.Grpc;

/// <summary>
/// What a server handler knows about its call: the method, the peer, the request metadata, the deadline, and a
/// token cancelled when the client aborts or the deadline passes. Handlers may add response metadata.
/// One instance per call; it also carries the call's response state for the dispatcher.
/// </summary>
public sealed class GrpcCallContext
{
    // Messages up to this size are serialized into one contiguous span of the response pipe.
    private const int ContiguousWriteLimit = 4096 - GrpcFraming.PrefixLength;

    private readonly int _maxSendMessageSize;
    private List<KeyValuePair<string, string>>? _responseTrailers;
    private string? _peer;
    private bool _encodingRead;
    private string? _requestEncoding;

    internal GrpcCallContext(HttpContext httpContext, string method, DateTime? deadline, CancellationToken cancellationToken, int maxSendMessageSize)
    {
        HttpContext = httpContext;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
        _maxSendMessageSize = maxSendMessageSize;
    }

    /// <summary>Cancelled when the client aborts the call (RST_STREAM, disconnect) or the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The call's deadline (UTC) from the client's <c>grpc-timeout</c>; null when the client set none.</summary>
    public DateTime? Deadline { get; }

    /// <summary>The full method name, <c>/service/method</c>.</summary>
    public string Method { get; }

    /// <summary>The request headers (gRPC metadata, plus HTTP/2 pseudo and transport headers).</summary>
    public IHeaderDictionary RequestHeaders => HttpContext.Request.Headers;

    /// <summary>The client's address in gRPC's form: <c>ipv4:1.2.3.4:5678</c> or <c>ipv6:[::1]:5678</c>.</summary>
    public string Peer => _peer ??= FormatPeer(HttpContext.Connection);

    /// <summary>The underlying HTTP context (e.g. for the TLS client certificate). Do not write to its response.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>True once the first response message has been written (response headers are then sent).</summary>
    public bool ResponseStarted { get; private set; }

    /// <summary>True once the call's status has been decided; later writes throw.</summary>
    internal bool IsCompleted { get; set; }

    internal IReadOnlyList<KeyValuePair<string, string>>? ResponseTrailers => _responseTrailers;

    /// <summary>The request's <c>grpc-encoding</c>, read only when a compressed frame needs it.</summary>
    internal string? RequestEncoding
    {
        get
        {
            if (!_encodingRead)
            {
                var value = HttpContext.Request.Headers[GrpcProtocol.EncodingHeader];
                _requestEncoding = value.Count == 0 ? null : value.ToString();
                _encodingRead = true;
            }
            return _requestEncoding;
        }
    }

    /// <summary>True when the deadline has passed (the token is then cancelled too).</summary>
    internal bool DeadlineExpired => Deadline is { } deadline && DateTime.UtcNow >= deadline;

    /// <summary>Adds trailing metadata sent with the status. Names are lower-case and must not start with <c>grpc-</c>.</summary>
    public void AddResponseTrailer(string name, string value)
    {
        ValidateMetadata(name, value);
        (_responseTrailers ??= []).Add(new(name, value));
    }

    /// <summary>Adds response header metadata; only before the first response message.</summary>
    /// <exception cref="InvalidOperationException">A response message was already written.</exception>
    public void AddResponseHeader(string name, string value)
    {
        ValidateMetadata(name, value);
        if (ResponseStarted)
        {
            throw new InvalidOperationException("Response headers are already sent.");
        }
        HttpContext.Response.Headers.Append(name, value);
    }

    /// <summary>Frames <paramref name="message"/> into the response pipe (not flushed).</summary>
    internal void WriteMessage(IMessage message)
    {
        int size = message.CalculateSize();
        GrpcFraming.ValidateSendSize(size, _maxSendMessageSize);
        ResponseStarted = true;
        var writer = HttpContext.Response.BodyWriter;
        if (size <= ContiguousWriteLimit)
        {
            int frameLength = GrpcFraming.PrefixLength + size;
            var span = writer.GetSpan(frameLength)[..frameLength];
            GrpcFraming.WritePrefix(span, size);
            message.WriteTo(span[GrpcFraming.PrefixLength..]);
            writer.Advance(frameLength);
        }
        else
        {
            GrpcFraming.WritePrefix(writer.GetSpan(GrpcFraming.PrefixLength), size);
            writer.Advance(GrpcFraming.PrefixLength);
            message.WriteTo((IBufferWriter<byte>)writer);
        }
    }

    /// <summary>
    /// Ends the call with <paramref name="status"/>: as trailers after the messages, or as a trailers-only
    /// response (status in the headers, no body) when no message was written.
    /// </summary>
    internal void WriteStatus(GrpcStatusCode status, string? message, IReadOnlyList<KeyValuePair<string, string>>? extraTrailers)
    {
        IsCompleted = true;
        var response = HttpContext.Response;
        IHeaderDictionary target;
        if (!ResponseStarted && !response.HasStarted)
        {
            target = response.Headers;
        }
        else
        {
            target = HttpContext.Features.Get<IHttpResponseTrailersFeature>()?.Trailers
                ?? throw new InvalidOperationException("The server does not support response trailers (HTTP/2 is required).");
        }
        target[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusText(status);
        if (!string.IsNullOrEmpty(message))
        {
            if (message.Length > GrpcProtocol.MaxStatusMessageLength)
            {
                message = message[..GrpcProtocol.MaxStatusMessageLength];
            }
            target[GrpcProtocol.MessageHeader] = GrpcPercentEncoding.Encode(message);
        }
        AppendAll(target, _responseTrailers);
        AppendAll(target, extraTrailers);
    }

    private static void AppendAll(IHeaderDictionary target, IReadOnlyList<KeyValuePair<string, string>>? metadata)
    {
        if (metadata is null)
        {
            return;
        }
        foreach (var (name, value) in metadata)
        {
            target.Append(name, value);
        }
    }

    private static void ValidateMetadata(string name, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        if (name.StartsWith("grpc-", StringComparison.Ordinal) || name[0] == ':')
        {
            throw new ArgumentException($"Metadata name '{name}' is reserved.", nameof(name));
        }
        foreach (char c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
            {
                throw new ArgumentException($"Metadata name '{name}' must be lower-case ASCII letters, digits, '-', '_' or '.'.", nameof(name));
            }
        }
        foreach (char c in value)
        {
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException($"The value of metadata '{name}' must be printable ASCII (base64 for '-bin').", nameof(value));
            }
        }
    }

    private static string FormatPeer(ConnectionInfo connection)
    {
        var ip = connection.RemoteIpAddress;
        if (ip is null)
        {
            return "unknown";
        }
        return ip.AddressFamily == AddressFamily.InterNetworkV6 && !ip.IsIPv4MappedToIPv6
            ? $"ipv6:[{ip}]:{connection.RemotePort}"
            : $"ipv4:{(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip)}:{connection.RemotePort}";
    }
}
