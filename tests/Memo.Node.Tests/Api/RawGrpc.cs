using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;

namespace Memo.Node.Tests.Api;

/// <summary>Sends hand-made gRPC requests over HTTP/2, to exercise what well-behaved clients never send.</summary>
internal static class RawGrpc
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>One length-prefixed message frame.</summary>
    public static byte[] Frame(byte[] message, bool compressed = false, int? declaredLength = null)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)(declaredLength ?? message.Length));
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>POSTs <paramref name="body"/> to <paramref name="path"/> and returns the gRPC status (from trailers, or headers for trailers-only).</summary>
    public static async Task<(int? Status, string? Message, HttpStatusCode Http)> CallAsync(string address, string path, byte[] body, string contentType = "application/grpc")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://{address}{path}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        string? Find(HttpHeaders headers, string name) => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
        var status = Find(response.TrailingHeaders, "grpc-status") ?? Find(response.Headers, "grpc-status");
        var message = Find(response.TrailingHeaders, "grpc-message") ?? Find(response.Headers, "grpc-message");
        return (status is null ? null : int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), message is null ? null : Uri.UnescapeDataString(message), response.StatusCode);
    }
}
