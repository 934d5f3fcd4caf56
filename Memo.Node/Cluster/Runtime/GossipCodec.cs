using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using W = Memo.Node.Cluster.Runtime.Wire;

namespace Memo.Node.Cluster.Runtime;

/// <summary>
/// Membership values to and from <c>memo_cluster.proto</c>. Decoding input from the network is an expected failure:
/// the <c>TryDecode</c> methods return the problem as a value, and the always-on invariant checks of
/// <see cref="MembershipState.TryRestore"/> run on every received state.
/// </summary>
internal static class GossipCodec
{
    /// <summary>The format this version writes and accepts.</summary>
    public const uint Format = 1;

    public static W.MembershipState ToWire(MembershipState state)
    {
        var wire = new W.MembershipState();
        foreach (var member in state.Members.Values)
        {
            var m = new W.Member { Id = member.Id.Value, Address = member.Address, Status = (uint)member.Status, UpNumber = member.UpNumber };
            foreach (var token in member.Tokens)
            {
                m.Tokens.Add(token);
            }
            m.Roles.AddRange(member.Roles);
            wire.Members.Add(m);
        }
        AddVersion(wire.Version, state.Version);
        foreach (var (observer, row) in state.Reachability.Observers)
        {
            var r = new W.ObserverRow { Observer = observer.Value, Version = row.Version };
            foreach (var subject in row.Unreachable)
            {
                r.Unreachable.Add(subject.Value);
            }
            wire.Reachability.Add(r);
        }
        foreach (var node in state.SeenBy)
        {
            wire.SeenBy.Add(node.Value);
        }
        return wire;
    }

    public static bool TryFromWire(W.MembershipState? wire, [NotNullWhen(true)] out MembershipState? state, [NotNullWhen(false)] out string? problem)
    {
        state = null;
        if (wire is null)
        {
            problem = "no membership state";
            return false;
        }
        try
        {
            var members = new List<Member>(wire.Members.Count);
            foreach (var m in wire.Members)
            {
                if (m.Status > (uint)MemberStatus.Removed)
                {
                    problem = $"member {new NodeId(m.Id)} has unknown status {m.Status}";
                    return false;
                }
                members.Add(Member.Create(new NodeId(m.Id), m.Address, (MemberStatus)m.Status, m.UpNumber, m.Tokens, m.Roles));
            }
            var rows = wire.Reachability.Select(r => new KeyValuePair<NodeId, ObserverRecord>(
                new NodeId(r.Observer), new ObserverRecord(r.Version, ImmutableSortedSet.CreateRange(r.Unreachable.Select(u => new NodeId(u))))));
            if (wire.Reachability.Select(r => r.Observer).Distinct().Count() != wire.Reachability.Count)
            {
                problem = "an observer row appears twice";
                return false;
            }
            return MembershipState.TryRestore(members, FromWire(wire.Version), ReachabilityTable.From(rows),
                wire.SeenBy.Select(s => new NodeId(s)), out state, out problem);
        }
        catch (ArgumentException e)
        {
            // Member.Create and VersionVector.From validate by throwing; from the network that is bad input, not a bug.
            problem = e.Message;
            return false;
        }
    }

    public static ReadOnlyMemory<byte> EncodeEnvelope(GossipEnvelope envelope) => Encode(new W.GossipMessage
    {
        Format = Format,
        Envelope = new W.GossipEnvelope { From = envelope.From.Value, To = envelope.To.Value, State = ToWire(envelope.State) },
    });

    public static ReadOnlyMemory<byte> EncodeStatus(GossipStatus status)
    {
        var wire = new W.GossipStatus { From = status.From.Value };
        AddVersion(wire.Version, status.Version);
        foreach (var node in status.SeenBy)
        {
            wire.SeenBy.Add(node.Value);
        }
        return Encode(new W.GossipMessage { Format = Format, Status = wire });
    }

    public static ReadOnlyMemory<byte> EncodeHeartbeat(NodeId from) =>
        Encode(new W.GossipMessage { Format = Format, Heartbeat = new W.Heartbeat { From = from.Value } });

    /// <summary>Decodes a gossip frame into a <see cref="GossipEnvelope"/>, a <see cref="GossipStatus"/> or a heartbeat
    /// (the sender's <see cref="NodeId"/>).</summary>
    public static bool TryDecode(ReadOnlyMemory<byte> body, [NotNullWhen(true)] out object? message, [NotNullWhen(false)] out string? problem)
    {
        message = null;
        W.GossipMessage wire;
        try
        {
            wire = W.GossipMessage.Parser.ParseFrom(body.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            problem = "malformed gossip message: " + e.Message;
            return false;
        }
        if (wire.Format != Format)
        {
            problem = $"gossip format {wire.Format}, this node reads {Format}";
            return false;
        }
        switch (wire.BodyCase)
        {
            case W.GossipMessage.BodyOneofCase.Heartbeat:
                message = new NodeId(wire.Heartbeat.From);
                problem = null;
                return true;
            case W.GossipMessage.BodyOneofCase.Status:
                try
                {
                    message = new GossipStatus(new NodeId(wire.Status.From), FromWire(wire.Status.Version),
                        ImmutableSortedSet.CreateRange(wire.Status.SeenBy.Select(s => new NodeId(s))));
                    problem = null;
                    return true;
                }
                catch (ArgumentException e)
                {
                    problem = e.Message;
                    return false;
                }
            case W.GossipMessage.BodyOneofCase.Envelope:
                if (!TryFromWire(wire.Envelope.State, out var state, out problem))
                {
                    return false;
                }
                message = new GossipEnvelope(new NodeId(wire.Envelope.From), new NodeId(wire.Envelope.To), state);
                return true;
            default:
                problem = "empty gossip message";
                return false;
        }
    }

    private static void AddVersion(Google.Protobuf.Collections.RepeatedField<W.VersionEntry> into, VersionVector version)
    {
        foreach (var (node, counter) in version.Counters)
        {
            into.Add(new W.VersionEntry { Node = node.Value, Counter = counter });
        }
    }

    private static VersionVector FromWire(Google.Protobuf.Collections.RepeatedField<W.VersionEntry> entries)
    {
        if (entries.Select(e => e.Node).Distinct().Count() != entries.Count)
        {
            throw new ArgumentException("a version vector entry appears twice");
        }
        return VersionVector.From(entries.Select(e => new KeyValuePair<NodeId, ulong>(new NodeId(e.Node), e.Counter)));
    }

    private static ReadOnlyMemory<byte> Encode(IMessage message) => message.ToByteArray();
}
