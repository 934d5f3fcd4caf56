using System.Buffers.Binary;
using System.Net;
using Google.Protobuf;
using Grpc.Core;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// Posts hand-made bodies (possibly malformed gRPC) to a node's Link method over h2c and reads the status the
/// call ends with: what a well-behaved client library cannot be made to send.
/// </summary>
internal sealed class RawLinkClient(string address) : IDisposable
{
    public const string LinkPath = "/memo.peer.PeerService/Link";

    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = new Uri($"http://{address}"),
        Timeout = PeerTestKit.Patience,
    };

    /// <summary>The gRPC length-prefixed frame of <paramref name="message"/>.</summary>
    public static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    public static byte[] Frame(byte[] payload) => [.. Prefix((uint)payload.Length), .. payload];

    /// <summary>An uncompressed frame's 5-byte prefix announcing <paramref name="length"/> bytes.</summary>
    public static byte[] Prefix(uint length)
    {
        var prefix = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(1), length);
        return prefix;
    }

    public Task<(StatusCode? Status, string? Message)> PostAsync(byte[] body) => PostAsync(new ByteArrayContent(body));

    /// <summary>Sends <paramref name="content"/> as the whole request stream; the status comes from the trailers or a trailers-only response.</summary>
    public async Task<(StatusCode? Status, string? Message)> PostAsync(HttpContent content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, LinkPath)
        {
            Content = content,
            // Cleartext HTTP/2 with prior knowledge, as gRPC clients speak it.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        content.Headers.TryAddWithoutValidation("content-type", "application/grpc");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await response.Content.ReadAsByteArrayAsync();
        string? Value(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var trailer) ? trailer.First()
            : response.Headers.TryGetValues(name, out var header) ? header.First()
            : null;
        var status = Value("grpc-status") is { } code ? (StatusCode?)int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) : null;
        // grpc-message is percent-encoded (gRPC's PROTOCOL-HTTP2), which URI unescaping undoes.
        var message = Value("grpc-message") is { } text ? Uri.UnescapeDataString(text) : null;
        return (status, message);
    }

    public void Dispose() => _http.Dispose();
}
