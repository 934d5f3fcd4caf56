using Google.Protobuf;
using Memo.Node.Hosting;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;

namespace Memo.Testing;

/// <summary>
/// Prepares a data folder for a network with an owner the way <c>memo passport create --node DIR --allow storage</c>
/// does: the node's key (created as the node would) and a storage passport for it, signed by the owner.
/// </summary>
public static class StoragePassportFiles
{
    /// <summary>Writes a storage passport for the node of <paramref name="dataDirectory"/>; returns it.</summary>
    public static Protocol.Users.Wire.Passport Issue(string dataDirectory, MemoKeyPair owner, string network, long expiresUnixMs = 0)
    {
        ArgumentNullException.ThrowIfNull(owner);
        MemoPublicKey nodeKey;
        using (var folder = DataFolder.Open(dataDirectory))
        using (var key = NodeIdentity.LoadOrCreate(folder, passphrase: null))
        {
            nodeKey = key.PublicKey;
        }
        var passport = PassportIssuer.Issue(owner, nodeKey, "node " + Path.GetFileName(dataDirectory), network,
            [new PassportGrantRule(PassportRights.Storage, "")], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), expiresUnixMs);
        File.WriteAllBytes(Path.Combine(dataDirectory, StorageTicket.FileName), passport.ToByteArray());
        return passport;
    }
}
