using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Memo.Protocol.Tests.Client;

/// <summary>
/// A Grpc.AspNetCore server on 127.0.0.1 (a free port, cleartext HTTP/2) hosting scripted fakes of the node's
/// services, so MemoClient is tested over the real Grpc.Net.Client transport against a standard server.
/// </summary>
internal sealed class TestGrpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGrpcServer(WebApplication app, FakeKeyValueStore keyValueStore, FakeValueStore valueStore)
    {
        _app = app;
        KeyValueStore = keyValueStore;
        ValueStore = valueStore;
        Target = new Uri(app.Urls.Single()).Authority;
    }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Target { get; }

    public FakeKeyValueStore KeyValueStore { get; }

    public FakeValueStore ValueStore { get; }

    public static async Task<TestGrpcServer> StartAsync()
    {
        var keyValueStore = new FakeKeyValueStore();
        var valueStore = new FakeValueStore();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        // Registered instances: Grpc.AspNetCore resolves services from the container, so tests script the very objects that answer.
        builder.Services.AddSingleton(keyValueStore).AddSingleton(valueStore);
        var app = builder.Build();
        app.MapGrpcService<FakeKeyValueStore>();
        app.MapGrpcService<FakeValueStore>();
        await app.StartAsync();
        return new TestGrpcServer(app, keyValueStore, valueStore);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
