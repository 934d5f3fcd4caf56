namespace Memo.Node.Transport;

/// <summary>
/// The peer answered a link attempt but the link cannot be used (wrong node, another network, no hello).
/// Raised and caught inside a link's loop, where it becomes the link's last error.
/// </summary>
internal sealed class PeerLinkRefusedException(string message) : Exception(message);
