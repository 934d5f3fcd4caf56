using System.Collections.Immutable;
using Google.Protobuf;
using Memo.Node.Cluster;
using Memo.Node.Cluster.Runtime;
using Memo.Node.Security;
using Memo.Protocol.Blocks;
using Memo.Protocol.Users;

namespace Memo.Node.Tests.Security;

/// <summary>
/// The pure checks of storage passports: a ticket travels in the member roles and reads back; it is valid for the node
/// whose key signed its NodeId and for no other; a member without a valid one is never placed; expiry and revocation
/// (of the passport or of the delegate that signed it) end its standing.
/// </summary>
public sealed class StorageTicketTests : IDisposable
{
    private const string NetworkName = "memo";
    private static readonly NetworkParameters Network = new(NetworkName, 4, 3, TimeSpan.FromSeconds(30), new RaftTiming(TimeSpan.FromMilliseconds(100), 10, LeaseReads: true));

    private readonly MemoKeyPair _owner = MemoKeyPair.Generate();
    private readonly MemoKeyPair _nodeKey = MemoKeyPair.Generate();

    public void Dispose()
    {
        _owner.Dispose();
        _nodeKey.Dispose();
    }

    private NetworkAccess Access => new(_owner.PublicKey, NetworkName);

    private byte[] Passport(MemoKeyPair issuer, PassportRights rights, long expires = 0, Protocol.Users.Wire.Passport? delegation = null) =>
        PassportIssuer.Issue(issuer, _nodeKey.PublicKey, "node", NetworkName, [new PassportGrantRule(rights, "")], 1_000, expires, delegation).ToByteArray();

    private static MemberIdentity Identity(ulong node, StorageTicket? ticket) =>
        MemberIdentity.Of(new NodeId(node), $"127.0.0.1:{5000 + node}", [node * 1000], Network) with { Storage = ticket?.ToRole() };

    [Fact]
    public void A_ticket_travels_in_the_roles_and_is_valid_only_for_the_node_id_its_key_signed()
    {
        var ticket = StorageTicket.Sign(_nodeKey, NetworkName, 7, Passport(_owner, PassportRights.Storage));
        Assert.True(MemberIdentity.TryParse(Identity(7, ticket).ToRoles(), out var parsed, out var problem), problem);
        Assert.Equal(ticket.ToRole(), parsed.Storage);
        Assert.True(MemberIdentity.IsIdentityRole(parsed.Storage!));

        var check = new StorageTicketCheck(Access);
        Assert.Null(check.Verify(parsed));
        // The same role (passports are not secret) claimed by another NodeId: the key signed node 7, not node 8.
        Assert.Contains("did not sign this member's claim to be node", check.Verify(Identity(8, ticket)), StringComparison.Ordinal);
        Assert.Equal(StoragePassports.NoTicket, check.Verify(Identity(9, null)));
    }

    [Fact]
    public void Tickets_without_storage_from_another_issuer_or_for_another_network_are_refused_with_the_reason()
    {
        using var stranger = MemoKeyPair.Generate();
        var access = Access;
        Assert.Contains("not storage",
            StoragePassports.Check(StorageTicket.Sign(_nodeKey, NetworkName, 7, Passport(_owner, PassportRights.Read | PassportRights.Write)), new NodeId(7), access, ImmutableHashSet<string>.Empty, 2_000),
            StringComparison.Ordinal);
        Assert.Contains("is not valid",
            StoragePassports.Check(StorageTicket.Sign(_nodeKey, NetworkName, 7, Passport(stranger, PassportRights.Storage)), new NodeId(7), access, ImmutableHashSet<string>.Empty, 2_000),
            StringComparison.Ordinal);
        Assert.Contains("is not valid",
            StoragePassports.Check(StorageTicket.Sign(_nodeKey, NetworkName, 7, Passport(_owner, PassportRights.Storage)), new NodeId(7), new NetworkAccess(_owner.PublicKey, "other"),
                ImmutableHashSet<string>.Empty, 2_000),
            StringComparison.Ordinal);
        Assert.Contains("format 1", StoragePassports.Check(StorageTicket.RolePrefix + "2:x:y", new NodeId(7), access, ImmutableHashSet<string>.Empty, 2_000), StringComparison.Ordinal);
        Assert.Contains("base64", StoragePassports.Check(StorageTicket.RolePrefix + "1:!!:y", new NodeId(7), access, ImmutableHashSet<string>.Empty, 2_000), StringComparison.Ordinal);
    }

    [Fact]
    public void Expiry_and_revocation_of_the_passport_or_of_its_delegate_end_its_standing()
    {
        using var delegateKey = MemoKeyPair.Generate();
        var delegatePassport = PassportIssuer.Issue(_owner, delegateKey.PublicKey, "delegate", NetworkName, [new PassportGrantRule(PassportRights.Storage | PassportRights.Sign, "")], 1_000);
        var bytes = Passport(delegateKey, PassportRights.Storage, expires: 5_000, delegation: delegatePassport);
        var ticket = StorageTicket.Sign(_nodeKey, NetworkName, 7, bytes);
        var ownId = Convert.ToHexStringLower(PassportIssuer.IdOf(Protocol.Users.Wire.Passport.Parser.ParseFrom(bytes)));
        var delegateId = Convert.ToHexStringLower(PassportIssuer.IdOf(delegatePassport));

        Assert.Null(StoragePassports.Check(ticket, new NodeId(7), Access, ImmutableHashSet<string>.Empty, 4_999));
        Assert.Contains("expired", StoragePassports.Check(ticket, new NodeId(7), Access, ImmutableHashSet<string>.Empty, 5_000), StringComparison.Ordinal);
        Assert.Contains("is revoked", StoragePassports.Check(ticket, new NodeId(7), Access, ImmutableHashSet.Create(ownId), 2_000), StringComparison.Ordinal);
        Assert.Contains($"through {delegateId}", StoragePassports.Check(ticket, new NodeId(7), Access, ImmutableHashSet.Create(delegateId), 2_000), StringComparison.Ordinal);
    }

    [Fact]
    public void A_member_without_a_valid_storage_passport_is_never_placed()
    {
        var check = new StorageTicketCheck(Access);
        var self = Identity(1, StorageTicket.Sign(_nodeKey, NetworkName, 1, Passport(_owner, PassportRights.Storage)));
        var bare = Identity(2, null);
        var copied = Identity(3, StorageTicket.TryParseRole(self.Storage!, out var stolen, out _) ? stolen : null);

        var mapped = AkkaMemberMapping.Map(self,
        [
            new ObservedMember("127.0.0.1:6001", MemberStatus.Up, 1, self.ToRoles(), Reachable: true, IsLeader: true),
            new ObservedMember("127.0.0.1:6002", MemberStatus.Up, 2, bare.ToRoles(), Reachable: true, IsLeader: false),
            new ObservedMember("127.0.0.1:6003", MemberStatus.Up, 3, copied.ToRoles(), Reachable: true, IsLeader: false),
        ], new Dictionary<NodeId, Member>(), check.Verify);

        Assert.Equal([self.Node], mapped.RingMembers.Select(m => m.Id));
        Assert.Equal(StoragePassports.NoTicket, mapped.Foreign["127.0.0.1:6002"]);
        Assert.Contains("did not sign", mapped.Foreign["127.0.0.1:6003"], StringComparison.Ordinal);
    }
}
