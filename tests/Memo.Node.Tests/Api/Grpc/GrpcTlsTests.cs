using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Memo.Node.Api.Grpc;
using Memo.Protocol.Grpc;
using static Memo.Node.Tests.Api.Grpc.TestEchoService;

namespace Memo.Node.Tests.Api.Grpc;

public sealed class GrpcTlsTests
{
    [Fact]
    public async Task Server_with_a_certificate_serves_gRPC_over_TLS_with_ALPN_h2()
    {
        using var certificate = SelfSigned();
        var service = new TestEchoService();
        var registry = new GrpcServiceRegistry();
        service.Register(registry);
        await using var server = await GrpcServer.StartAsync(
            new GrpcServerOptions { Endpoints = [new(IPAddress.Loopback, 0)], Certificate = certificate },
            registry,
            new TestLoggerFactory(),
            CancellationToken.None);
        var port = server.BoundEndpoints[0].Port;
        X509Certificate? presented = null;
        using var channel = new GrpcChannel($"https://localhost:{port}", new GrpcChannelOptions
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                {
                    presented = cert;
                    return cert is not null && cert.GetCertHashString() == certificate.GetCertHashString();
                },
            },
        });

        var response = await channel.UnaryAsync(Echo, Request("secure"));

        Assert.Equal("secure", response.Value.ToStringUtf8());
        Assert.NotNull(presented);
    }

    [Fact]
    public async Task Cleartext_client_cannot_call_a_TLS_server()
    {
        using var certificate = SelfSigned();
        var registry = new GrpcServiceRegistry();
        new TestEchoService().Register(registry);
        await using var server = await GrpcServer.StartAsync(
            new GrpcServerOptions { Endpoints = [new(IPAddress.Loopback, 0)], Certificate = certificate },
            registry,
            new TestLoggerFactory(),
            CancellationToken.None);
        using var channel = new GrpcChannel($"http://127.0.0.1:{server.BoundEndpoints[0].Port}");

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(Echo, Request("x")).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(GrpcStatusCode.Unavailable, ex.Status);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }
}
