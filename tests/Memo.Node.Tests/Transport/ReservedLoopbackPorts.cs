using System.Net;
using System.Net.Sockets;

namespace Memo.Node.Tests.Transport;

/// <summary>
/// Loopback ports that refuse connections until a node starts on them: bound (so no one else gets them) but not
/// listening. Releasing one just before a node binds it lets the contract's "comes up later" tests name an address first.
/// </summary>
internal sealed class ReservedLoopbackPorts : IDisposable
{
    private readonly Dictionary<string, Socket> _reserved = [];
    private readonly Lock _lock = new();

    /// <summary>A fresh reserved address, <c>127.0.0.1:port</c>.</summary>
    public string Reserve()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var address = ((IPEndPoint)socket.LocalEndPoint!).ToString();
        lock (_lock)
        {
            _reserved[address] = socket;
        }
        return address;
    }

    /// <summary>Frees <paramref name="address"/> for a node about to bind it; nothing when it was not reserved here.</summary>
    public void Release(string address)
    {
        lock (_lock)
        {
            if (_reserved.Remove(address, out var socket))
            {
                socket.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var socket in _reserved.Values)
            {
                socket.Dispose();
            }
            _reserved.Clear();
        }
    }
}
