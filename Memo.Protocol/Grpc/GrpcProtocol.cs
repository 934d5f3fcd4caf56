namespace Memo.Protocol.Grpc;

/// <summary>Names and values of the gRPC-over-HTTP/2 protocol (grpc/doc/PROTOCOL-HTTP2.md) shared by client and server.</summary>
public static class GrpcProtocol
{
    /// <summary>The content type of every gRPC request and response (protobuf implied).</summary>
    public const string ContentType = "application/grpc";

    /// <summary>Trailer (or trailers-only header) carrying the numeric status.</summary>
    public const string StatusHeader = "grpc-status";

    /// <summary>Trailer (or trailers-only header) carrying the percent-encoded status message.</summary>
    public const string MessageHeader = "grpc-message";

    /// <summary>Request header carrying the call's remaining time (see <see cref="GrpcTimeout"/>).</summary>
    public const string TimeoutHeader = "grpc-timeout";

    /// <summary>Header naming the compression of messages whose compressed flag is set.</summary>
    public const string EncodingHeader = "grpc-encoding";

    /// <summary>Header listing the message encodings a peer accepts.</summary>
    public const string AcceptEncodingHeader = "grpc-accept-encoding";

    /// <summary>The only message encoding this implementation speaks.</summary>
    public const string IdentityEncoding = "identity";

    /// <summary>Value of the <c>te</c> request header every gRPC client must send.</summary>
    public const string TeTrailers = "trailers";

    /// <summary>Default limit on one received message, both sides: 16 MiB.</summary>
    public const int DefaultMaxMessageSize = 16 * 1024 * 1024;

    /// <summary>Longest <c>grpc-message</c> text sent; longer messages are cut so trailers stay small.</summary>
    public const int MaxStatusMessageLength = 4096;

    /// <summary>
    /// True when <paramref name="contentType"/> is <c>application/grpc</c>, optionally followed by <c>+format</c>
    /// or <c>;params</c>; <c>application/grpc-web</c> is not gRPC.
    /// </summary>
    public static bool IsGrpcContentType(ReadOnlySpan<char> contentType)
    {
        if (!contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return contentType.Length == ContentType.Length || contentType[ContentType.Length] is '+' or ';';
    }

    /// <summary>Maps an HTTP status of a non-200 response to a gRPC status (grpc/doc/http-grpc-status-mapping.md).</summary>
    public static GrpcStatusCode FromHttpStatus(int httpStatus) => httpStatus switch
    {
        400 => GrpcStatusCode.Internal,
        401 => GrpcStatusCode.Unauthenticated,
        403 => GrpcStatusCode.PermissionDenied,
        404 => GrpcStatusCode.Unimplemented,
        429 or 502 or 503 or 504 => GrpcStatusCode.Unavailable,
        _ => GrpcStatusCode.Unknown,
    };

    /// <summary>Maps an HTTP/2 RST_STREAM or GOAWAY error code to a gRPC status (grpc/doc/PROTOCOL-HTTP2.md, "Errors").</summary>
    public static GrpcStatusCode FromHttp2ErrorCode(long errorCode) => errorCode switch
    {
        0x8 => GrpcStatusCode.Cancelled,          // CANCEL
        0x7 => GrpcStatusCode.Unavailable,        // REFUSED_STREAM: not processed, safe to retry
        0xb => GrpcStatusCode.ResourceExhausted,  // ENHANCE_YOUR_CALM
        0xc => GrpcStatusCode.PermissionDenied,   // INADEQUATE_SECURITY
        _ => GrpcStatusCode.Internal,             // NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, ...
    };

    /// <summary>Parses a <c>grpc-status</c> value; codes outside the known range read as <see cref="GrpcStatusCode.Unknown"/>.</summary>
    public static bool TryParseStatus(ReadOnlySpan<char> value, out GrpcStatusCode status)
    {
        if (value.Length is 0 or > 3 || !int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            status = GrpcStatusCode.Unknown;
            return false;
        }
        status = code <= (int)GrpcStatusCode.Unauthenticated ? (GrpcStatusCode)code : GrpcStatusCode.Unknown;
        return true;
    }

    /// <summary>The decimal text of a status code, without allocating.</summary>
    public static string StatusText(GrpcStatusCode status) =>
        (uint)status < (uint)StatusTexts.Length ? StatusTexts[(int)status] : ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly string[] StatusTexts =
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"];
}
