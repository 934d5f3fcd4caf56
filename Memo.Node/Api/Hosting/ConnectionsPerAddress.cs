using System.Net;
using System.Net.Sockets;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// Counts open connections per client address and refuses those beyond <see cref="Limit"/>
/// (<c>memo.grpc.max-connections-per-address</c>), so one address cannot take every connection Kestrel allows.
/// IPv6 clients count per /64 (one host usually holds a whole /64); IPv4-mapped IPv6 addresses count as IPv4.
/// </summary>
public sealed class ConnectionsPerAddress
{
    private readonly object _lock = new();
    private readonly Dictionary<IPAddress, int> _open = [];

    /// <summary>Counts against a limit of <paramref name="limit"/> connections per address.</summary>
    public ConnectionsPerAddress(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
    }

    /// <summary>Most connections one address may hold open.</summary>
    public int Limit { get; }

    /// <summary>
    /// Counts a new connection from <paramref name="address"/> unless that address is at its limit; when it is
    /// counted, the caller must <see cref="Remove"/> it when the connection closes.
    /// </summary>
    /// <param name="address">The client's address.</param>
    /// <param name="key">The address the connection counts against.</param>
    /// <returns>Whether the connection may proceed.</returns>
    public bool TryAdd(IPAddress address, out IPAddress key)
    {
        ArgumentNullException.ThrowIfNull(address);
        key = KeyOf(address);
        lock (_lock)
        {
            var open = _open.GetValueOrDefault(key);
            if (open >= Limit)
            {
                return false;
            }
            _open[key] = open + 1;
            return true;
        }
    }

    /// <summary>Uncounts a connection counted by <see cref="TryAdd"/> under <paramref name="key"/>.</summary>
    public void Remove(IPAddress key)
    {
        lock (_lock)
        {
            if (!_open.TryGetValue(key, out var open))
            {
                throw new InvalidOperationException($"No open connection is counted for {key}.");
            }
            if (open == 1)
            {
                _open.Remove(key);
            }
            else
            {
                _open[key] = open - 1;
            }
        }
    }

    /// <summary>Connections counted for <paramref name="address"/> now.</summary>
    public int OpenFrom(IPAddress address)
    {
        lock (_lock)
        {
            return _open.GetValueOrDefault(KeyOf(address));
        }
    }

    /// <summary>The address a connection from <paramref name="address"/> counts against.</summary>
    public static IPAddress KeyOf(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }
}
