using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Memo.Protocol.Grpc;

namespace Memo.Node.Tests.Api.Grpc;

/// <summary>Sends hand-made HTTP/2 requests (possibly malformed gRPC) and exposes the raw response.</summary>
internal sealed class RawGrpcClient(Uri baseAddress) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = baseAddress,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    public static byte[] Frame(byte[] payload, byte flag = 0) => [.. Prefix(flag, (uint)payload.Length), .. payload];

    public static byte[] Prefix(byte flag, uint length)
    {
        var prefix = new byte[5];
        prefix[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(1), length);
        return prefix;
    }

    public Task<RawResponse> PostAsync(string path, byte[] body, params (string Name, string Value)[] headers) =>
        SendAsync(HttpMethod.Post, path, new ByteArrayContent(body), GrpcProtocol.ContentType, headers);

    public async Task<RawResponse> SendAsync(HttpMethod method, string path, HttpContent? content, string? contentType, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (content is not null && contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("content-type", contentType);
        }
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsByteArrayAsync();
        return new RawResponse(
            (int)response.StatusCode,
            response.Headers,
            response.Content.Headers.ContentType?.ToString(),
            body,
            response.TrailingHeaders);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A raw HTTP/2 response; the gRPC status comes from the trailers or, for trailers-only, the headers.</summary>
internal sealed record RawResponse(int HttpStatus, HttpResponseHeaders Headers, string? ContentType, byte[] Body, HttpResponseHeaders Trailers)
{
    public bool IsTrailersOnly => Headers.Contains(GrpcProtocol.StatusHeader);

    public GrpcStatusCode? Status
    {
        get
        {
            var text = Value(GrpcProtocol.StatusHeader);
            return text is null ? null : (GrpcStatusCode)int.Parse(text);
        }
    }

    public string? Message => Value(GrpcProtocol.MessageHeader) is { } m ? GrpcPercentEncoding.Decode(m) : null;

    public string? Value(string name) =>
        Trailers.TryGetValues(name, out var t) ? t.First()
        : Headers.TryGetValues(name, out var h) ? h.First()
        : null;
}
