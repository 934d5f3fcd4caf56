using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Memo.Testing.Nemesis;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Nemesis;

/// <summary>
/// The link proxy against real loopback sockets, with this test process as "node 1" dialling "node 0" behind the proxy
/// (so <see cref="SocketOwners"/> must find the test's own socket): bytes flow, a cut holds them and healing delivers
/// them in order, a one-way cut holds only its direction, a reset ends the connection.
/// </summary>
public sealed class LinkProxyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private readonly TcpListener _target = new(IPAddress.Loopback, 0);
    private readonly LinkFaults _faults = new();
    private LinkProxy? _proxy;

    public Task InitializeAsync()
    {
        _target.Start();
        var self = Environment.ProcessId;
        _proxy = new LinkProxy(0, 0, ((IPEndPoint)_target.LocalEndpoint).Port, _faults, pid => pid == self ? 1 : -1, () => [self], seed: 1);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_cut_holds_the_bytes_and_healing_delivers_them_in_order()
    {
        var (client, server) = await ConnectAsync();
        using (client)
        using (server)
        {
            await client.SendAsync("hello"u8.ToArray());
            Assert.Equal("hello", await ReceiveAsync(server, 5));
            Assert.Equal(0, _proxy!.Counts.Unattributed);

            _faults.Set(1, 0, LinkFault.Severed);
            await client.SendAsync("held-1"u8.ToArray());
            await client.SendAsync("held-2"u8.ToArray());
            // The other direction still flows while this one is cut.
            await server.SendAsync("back"u8.ToArray());
            Assert.Equal("back", await ReceiveAsync(client, 4));
            Assert.Equal(0, server.Available);

            _faults.HealAll();
            Assert.Equal("held-1held-2", await ReceiveAsync(server, 12));
        }
    }

    [Fact]
    public async Task A_delay_slows_delivery_and_a_reset_ends_the_connection()
    {
        var (client, server) = await ConnectAsync();
        using (client)
        using (server)
        {
            _faults.Set(1, 0, new LinkFault(false, TimeSpan.FromMilliseconds(200), TimeSpan.Zero, 0, TimeSpan.Zero));
            var clock = Stopwatch.StartNew();
            await client.SendAsync("slow"u8.ToArray());
            Assert.Equal("slow", await ReceiveAsync(server, 4));
            output.WriteLine($"a 200 ms link delay delivered in {clock.ElapsedMilliseconds} ms");

            Assert.Equal(1, _proxy!.Reset(peer: 1));
            var buffer = new byte[16];
            var ended = await Task.Run(async () =>
            {
                try
                {
                    return await server.ReceiveAsync(buffer).WaitAsync(Bound) == 0;
                }
                catch (SocketException)
                {
                    return true;
                }
            });
            Assert.True(ended, "the node's side of a reset connection did not end");
        }
    }

    private async Task<(Socket Client, Socket Server)> ConnectAsync()
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPEndPoint.Parse(_proxy!.Address));
        var server = await _target.AcceptSocketAsync().WaitAsync(Bound);
        return (client, server);
    }

    private static async Task<string> ReceiveAsync(Socket socket, int bytes)
    {
        var buffer = new byte[bytes];
        var read = 0;
        while (read < bytes)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read)).AsTask().WaitAsync(Bound);
            Assert.True(n > 0, "the connection ended");
            read += n;
        }
        return System.Text.Encoding.ASCII.GetString(buffer);
    }

    public async Task DisposeAsync()
    {
        await _proxy!.DisposeAsync();
        _target.Stop();
    }
}
