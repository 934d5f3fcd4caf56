namespace Memo.Node.Transport;

/// <summary>The argument checks of <see cref="IPeerTransport.Send"/>, identical in every implementation.</summary>
internal static class PeerSendArguments
{
    /// <exception cref="ArgumentException">The arguments are a caller bug.</exception>
    public static void Check(NodeId local, NodeId to, string address, in PeerMessage message, PeerTransportOptions options)
    {
        if (to.IsNone)
        {
            throw new ArgumentException("A peer message needs a destination node.", nameof(to));
        }
        if (to == local)
        {
            throw new ArgumentException($"Node {local} cannot send a peer message to itself.", nameof(to));
        }
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        if (address.Length > PeerWire.MaxAddressLength)
        {
            throw new ArgumentException($"A peer address is at most {PeerWire.MaxAddressLength} characters.", nameof(address));
        }
        if (!Enum.IsDefined(message.Channel))
        {
            // default(PeerMessage): a caller forgot to build the message.
            throw new ArgumentException("The message has no channel kind (default PeerMessage?).", nameof(message));
        }
        if (message.Body.Length > options.MaxMessageBytes)
        {
            throw new ArgumentException(
                $"A {message.Channel} message of {message.Body.Length} bytes exceeds the peer message limit of {options.MaxMessageBytes} bytes.",
                nameof(message));
        }
    }

    /// <exception cref="ArgumentException">The network id is empty or too long.</exception>
    public static void CheckNetworkId(string networkId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(networkId);
        if (networkId.Length > PeerWire.MaxNetworkIdLength)
        {
            throw new ArgumentException($"A network id is at most {PeerWire.MaxNetworkIdLength} characters.", nameof(networkId));
        }
    }
}
