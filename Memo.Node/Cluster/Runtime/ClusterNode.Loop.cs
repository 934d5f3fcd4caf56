using System.Collections.Immutable;
using Memo.Node.Transport;
using Memo.Protocol.Cluster;
using Microsoft.Extensions.Logging;

namespace Memo.Node.Cluster.Runtime;

public sealed partial class ClusterNode
{
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromTicks(Math.Min(_options.GossipInterval.Ticks, _options.Core.FailureDetector.HeartbeatInterval.Ticks));
        using var timer = new PeriodicTimer(period, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            // A full mailbox already has work queued; the next tick comes soon enough.
            _mailbox.Writer.TryWrite(new Input.Tick());
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _mailbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var before = _state;
                var problemBefore = _joinProblem;
                var decisionBefore = _decision;
                var networkBefore = _network;
                for (var i = 0; i < MaxInputsPerTurn && reader.TryRead(out var input); i++)
                {
                    try
                    {
                        Handle(input);
                    }
                    catch (Exception e) when (e is InvalidOperationException or MembershipStateException)
                    {
                        // A core refused a change the loop thought legal: a bug, but one input must not stop membership.
                        LogInputFailed(_logger, e, input.GetType().Name);
                        FailReply(input, e);
                    }
                }
                if (!ReferenceEquals(before, _state) || problemBefore != _joinProblem || !Equals(decisionBefore, _decision) || networkBefore != _network)
                {
                    await PersistAsync(cancellationToken).ConfigureAwait(false);
                    Publish();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            while (reader.TryRead(out var input))
            {
                FailReply(input, new OperationCanceledException("The cluster node stopped."));
            }
        }
    }

    private void Handle(Input input)
    {
        switch (input)
        {
            case Input.Tick:
                OnTick();
                break;
            case Input.Form:
                Form();
                break;
            case Input.Gossip gossip:
                OnGossip(gossip.Message);
                break;
            case Input.Admit admit:
                admit.Reply.TrySetResult(Admit(admit.Request));
                break;
            case Input.Admitted admitted:
                OnAdmitted(admitted.Response, admitted.State);
                break;
            case Input.JoinFailed failed:
                _joinProblem = failed.Problem;
                break;
            case Input.Change change:
                change.Reply.TrySetResult(ChangeStatus(change.Node, change.To));
                break;
            case Input.JoinThrough join:
                join.Reply.TrySetResult(JoinThrough(join.Seed));
                break;
        }
    }

    private static void FailReply(Input input, Exception e)
    {
        switch (input)
        {
            case Input.Admit admit:
                admit.Reply.TrySetException(e);
                break;
            case Input.Change change:
                change.Reply.TrySetException(e);
                break;
            case Input.JoinThrough join:
                join.Reply.TrySetException(e);
                break;
        }
    }

    private bool IsActive => _state.StatusOf(Self) is { } own && own.IsLive();

    private void Form()
    {
        if (_state.Members.ContainsKey(Self))
        {
            return;
        }
        _state = MembershipState.Empty.Join(Self, _selfRecord, _options.Core.MaxMembers);
        LogFormed(_logger, Self, _selfRecord.Address, _network.Name, _network.ShardCount, _network.ReplicationFactor);
    }

    private void OnTick()
    {
        if (!IsActive)
        {
            return;
        }
        var now = Now();
        var members = _state.Members.Values;

        // Monitor every live peer from the moment it is known (so a peer that never answers is suspected too), and
        // forget the retired ones.
        foreach (var member in members)
        {
            if (member.Id == Self)
            {
                continue;
            }
            if (member.Status.IsLive())
            {
                if (!_detectors.IsMonitoring(member.Id))
                {
                    _detectors.Heartbeat(member.Id, now);
                }
            }
            else
            {
                _detectors.Remove(member.Id);
            }
        }

        if (now >= _nextHeartbeat)
        {
            _nextHeartbeat = now + (long)_options.Core.FailureDetector.HeartbeatInterval.TotalMilliseconds;
            var heartbeat = PeerMessage.Gossip(GossipCodec.EncodeHeartbeat(Self));
            foreach (var member in members)
            {
                if (member.Id != Self && member.Status.IsLive())
                {
                    _transport.Send(member.Id, member.Address, heartbeat);
                }
            }
        }

        foreach (var member in members)
        {
            if (member.Id != Self && member.Status != MemberStatus.Removed)
            {
                var available = _detectors.IsAvailable(member.Id, now);
                var next = available ? _state.MarkReachable(Self, member.Id) : _state.MarkUnreachable(Self, member.Id);
                if (!ReferenceEquals(next, _state))
                {
                    LogReachability(_logger, member.Id, member.Address, available ? "reachable" : "unreachable");
                    _state = next;
                }
            }
        }

        if (now >= _nextGossip)
        {
            _nextGossip = now + (long)_options.GossipInterval.TotalMilliseconds;
            GossipOnce();
        }

        LeaderActions();
        Downing(now);
    }

    private void GossipOnce()
    {
        var target = GossipProtocol.SelectTarget(_state, Self, _random, _options.Core.GossipPreferUnseenProbability);
        if (target.IsNone || !_state.TryGetMember(target, out var member))
        {
            return;
        }
        if (GossipProtocol.NeedsFullState(_state, target))
        {
            SendState(member);
        }
        else
        {
            _transport.Send(target, member.Address, PeerMessage.Gossip(GossipCodec.EncodeStatus(GossipProtocol.StatusOf(Self, _state))));
        }
    }

    private void SendState(Member to) =>
        _transport.Send(to.Id, to.Address, PeerMessage.Gossip(GossipCodec.EncodeEnvelope(GossipProtocol.Envelope(Self, to.Id, _state))));

    private void LeaderActions()
    {
        if (_state.Leader != Self)
        {
            return;
        }
        var before = _state;
        _state = _state.LeaderActions(Self, ExitReady?.Invoke());
        if (!ReferenceEquals(before, _state))
        {
            foreach (var member in _state.Members.Values)
            {
                if (before.StatusOf(member.Id) is { } was && was != member.Status)
                {
                    LogMemberMoved(_logger, member.Id, member.Address, was, member.Status);
                }
            }
        }
    }

    private void Downing(long now)
    {
        _unreachableSince = DowningDecider.TrackUnreachable(_unreachableSince, _state, Self, now);
        var decision = DowningDecider.Decide(_state, Self, _unreachableSince, now, _network.EvictionDelay);
        if (decision is DowningDecision.Down down && _state.Leader == Self)
        {
            foreach (var node in down.Members)
            {
                if (_state.StatusOf(node) is { } status && MemberStatusTransitions.IsAllowed(status, MemberStatus.Down))
                {
                    LogDowning(_logger, node, _state.Members[node].Address, _network.EvictionDelay);
                    _state = _state.Down(Self, node);
                }
            }
        }
        // Wait decisions carry a moving deadline; only the kind matters for publishing.
        var kindChanged = decision.GetType() != _decision.GetType()
            || (decision is DowningDecision.StopServing s && _decision is DowningDecision.StopServing t && s.Reason != t.Reason);
        if (kindChanged && decision is DowningDecision.StopServing stop)
        {
            LogStopServing(_logger, Self, stop.Reason, string.Join(", ", _state.Unreachable));
        }
        else if (kindChanged && _decision is DowningDecision.StopServing)
        {
            LogServingAgain(_logger, Self);
        }
        _decision = kindChanged || decision is not DowningDecision.Wait ? decision : _decision;
    }

    private void OnGossip(InboundPeerMessage inbound)
    {
        if (!GossipCodec.TryDecode(inbound.Message.Body, out var message, out var problem))
        {
            LogBadGossip(_logger, inbound.From, problem);
            return;
        }
        switch (message)
        {
            case NodeId from:
                if (from == inbound.From && _state.StatusOf(from) is { } senderStatus && senderStatus.IsLive() && IsActive)
                {
                    _detectors.Heartbeat(from, Now());
                }
                break;
            case GossipStatus status when status.From == inbound.From:
                OnStatus(status);
                break;
            case GossipEnvelope envelope when envelope.From == inbound.From:
                OnEnvelope(envelope);
                break;
            default:
                LogBadGossip(_logger, inbound.From, "the sender named in the message is not the link's peer");
                break;
        }
    }

    private void OnStatus(GossipStatus status)
    {
        if (!IsActive || !_state.TryGetMember(status.From, out var sender))
        {
            return;
        }
        if (!sender.Status.IsLive())
        {
            // A retired node still gossiping: tell it, so it learns it was removed and stops.
            SendState(sender);
            return;
        }
        switch (GossipProtocol.OnStatus(_state, status))
        {
            case GossipReply.SendState:
                SendState(sender);
                break;
            case GossipReply.RequestState:
                _transport.Send(sender.Id, sender.Address, PeerMessage.Gossip(GossipCodec.EncodeStatus(GossipProtocol.StatusOf(Self, _state))));
                break;
        }
    }

    private void OnEnvelope(GossipEnvelope envelope)
    {
        if (!_state.Members.ContainsKey(Self))
        {
            return; // Not joined yet: the join answer brings the first state.
        }
        var receipt = GossipProtocol.Receive(_state, Self, envelope);
        switch (receipt.Outcome)
        {
            case GossipReceiveOutcome.Merged:
                var before = _state;
                _state = receipt.State;
                if (receipt.Reply == GossipReply.SendState && _state.TryGetMember(envelope.From, out var sender))
                {
                    SendState(sender);
                }
                NoteSelfChange(before);
                break;
            case GossipReceiveOutcome.UnknownSender when IsActive && _state.TryGetMember(envelope.From, out var retired) && !retired.Status.IsLive():
                SendState(retired);
                break;
        }
    }

    private void NoteSelfChange(MembershipState before)
    {
        var was = before.StatusOf(Self);
        var now = _state.StatusOf(Self);
        if (was != now && now is { } status)
        {
            LogSelfStatus(_logger, Self, status);
        }
    }

    private AdmitResult Admit(AdmitMemberRequest request)
    {
        if (!IsActive)
        {
            return new AdmitResult(AdmitOutcome.NotAMember, $"node {Self} is not a live member of a cluster (yet)", null);
        }
        if (request.Format != GossipCodec.Format)
        {
            return new AdmitResult(AdmitOutcome.Invalid, $"join request format {request.Format}; this node reads {GossipCodec.Format}", null);
        }
        if (request.NetworkName != _network.Name)
        {
            return new AdmitResult(AdmitOutcome.Refused,
                $"this cluster is network '{_network.Name}'; the joining node is configured for '{request.NetworkName}' (memo.network.name)", null);
        }
        if (request.ShardCount != _network.ShardCount)
        {
            return new AdmitResult(AdmitOutcome.Refused,
                $"this cluster has {_network.ShardCount} shards; the joining node's data folder was created with {request.ShardCount}. " +
                "Start it with an empty data folder to join this cluster.", null);
        }
        Member candidate;
        try
        {
            candidate = Member.Joining(new NodeId(request.Node), request.Address, request.Tokens, request.Roles);
        }
        catch (ArgumentException e)
        {
            return new AdmitResult(AdmitOutcome.Invalid, e.Message, null);
        }
        var check = _state.CheckJoin(candidate, _options.Core.MaxMembers);
        switch (check)
        {
            case JoinCheck.Admit:
                _state = _state.Join(Self, candidate, _options.Core.MaxMembers);
                LogAdmitted(_logger, candidate.Id, candidate.Address);
                break;
            case JoinCheck.AlreadyMember:
                break;
            case JoinCheck.ClusterFull:
                return new AdmitResult(AdmitOutcome.ClusterFull, $"the cluster has its maximum of {_options.Core.MaxMembers} live members", null);
            case JoinCheck.NodeIdRetired:
                return new AdmitResult(AdmitOutcome.Refused,
                    $"node id {candidate.Id} was downed or removed from this cluster and is retired; start the node with an empty data folder to join again", null);
            case JoinCheck.NodeIdInUse:
                return new AdmitResult(AdmitOutcome.Refused, $"node id {candidate.Id} is a member with another address or tokens", null);
            case JoinCheck.AddressInUse:
                var holder = _state.Members.Values.First(m => m.Address == candidate.Address && m.Status.IsLive());
                return new AdmitResult(AdmitOutcome.Refused,
                    $"member {holder.Id} has address {candidate.Address}; down it first (memo cluster down {holder.Id})", null);
        }
        var response = new AdmitMemberResponse
        {
            Format = GossipCodec.Format,
            ShardCount = _network.ShardCount,
            ReplicationFactor = _network.ReplicationFactor,
            EvictionDelayMs = (long)_network.EvictionDelay.TotalMilliseconds,
            NetworkName = _network.Name,
            FromNode = Self.Value,
            State = Google.Protobuf.MessageExtensions.ToByteString(GossipCodec.ToWire(GossipProtocol.Envelope(Self, candidate.Id, _state).State)),
        };
        return new AdmitResult(AdmitOutcome.Admitted, null, response);
    }

    private void OnAdmitted(AdmitMemberResponse response, MembershipState state)
    {
        if (_state.Members.ContainsKey(Self))
        {
            return; // Already joined through another seed, or formed meanwhile.
        }
        var receipt = GossipProtocol.Receive(_state, Self, new GossipEnvelope(new NodeId(response.FromNode), Self, state));
        if (receipt.Outcome != GossipReceiveOutcome.Merged || !receipt.State.Members.ContainsKey(Self))
        {
            _joinProblem = $"the join answer from {new NodeId(response.FromNode)} was not usable ({receipt.Outcome})";
            return;
        }
        _state = receipt.State;
        var adopted = _network with
        {
            ReplicationFactor = response.ReplicationFactor,
            EvictionDelay = TimeSpan.FromMilliseconds(response.EvictionDelayMs),
        };
        if (adopted != _network)
        {
            LogAdoptedParameters(_logger, adopted.ReplicationFactor, adopted.EvictionDelay, _network.ReplicationFactor, _network.EvictionDelay);
            _network = adopted;
        }
        _joinProblem = null;
        LogJoined(_logger, Self, new NodeId(response.FromNode), _state.Members.Count);
    }

    private ClusterCommandResult ChangeStatus(string? node, MemberStatus to)
    {
        if (!IsActive)
        {
            return new ClusterCommandResult(ClusterCommandStatus.NotMember, NodeId.None, $"node {Self} is not a live member, so it cannot change the membership");
        }
        if (!TryResolve(node, out var member))
        {
            return new ClusterCommandResult(ClusterCommandStatus.UnknownMember, NodeId.None, $"no member has id or address '{node}'");
        }
        if (member.Status == to || (to == MemberStatus.Leaving && member.Status is MemberStatus.Exiting or MemberStatus.Removed))
        {
            return ClusterCommandResult.Done(member.Id);
        }
        if (!MemberStatusTransitions.IsAllowed(member.Status, to))
        {
            return new ClusterCommandResult(ClusterCommandStatus.Refused, member.Id, $"member {member.Id} is {member.Status}; it cannot become {to}");
        }
        if (to == MemberStatus.Down && member.Id == Self)
        {
            return new ClusterCommandResult(ClusterCommandStatus.Refused, member.Id, "a node cannot down itself; use leave, or down it through another member");
        }
        _state = _state.Transition(Self, member.Id, to);
        LogMemberMoved(_logger, member.Id, member.Address, member.Status, to);
        return ClusterCommandResult.Done(member.Id);
    }

    private bool TryResolve(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Member? member)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return _state.TryGetMember(Self, out member);
        }
        text = text.Trim();
        if (ulong.TryParse(text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text,
                System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var id)
            && _state.TryGetMember(new NodeId(id), out member))
        {
            return true;
        }
        // An address may have been reused by a later incarnation: prefer the live record.
        member = _state.Members.Values.Where(m => m.Address == text).OrderBy(m => m.Status.IsLive() ? 0 : 1).FirstOrDefault();
        return member is not null;
    }

    private ClusterCommandResult JoinThrough(string seed)
    {
        var alone = _state.Members.Count == 1 && _state.Members.ContainsKey(Self);
        if (_state.Members.ContainsKey(Self) && !alone)
        {
            return new ClusterCommandResult(ClusterCommandStatus.Refused, Self,
                $"node {Self} is already a member of a cluster of {_state.Members.Count} records; leave it first");
        }
        if (alone)
        {
            // Abandon the single-node cluster this node formed: nobody else has seen it.
            LogAbandonedOwnCluster(_logger, Self, seed);
            _state = MembershipState.Empty;
            _detectors.Clear();
        }
        _joinProblem = null;
        StartJoining([seed]);
        return ClusterCommandResult.Done(Self);
    }

    private void Publish()
    {
        ClusterView view;
        lock (_viewLock)
        {
            view = BuildView(_view.Version + 1);
            _view = view;
        }
        if (view.Placement.IsClamped != _lastClamped)
        {
            _lastClamped = view.Placement.IsClamped;
            if (_lastClamped)
            {
                LogReplicationClamped(_logger, view.Placement.RequestedReplicationFactor, view.Placement.ReplicationFactor);
            }
        }
        try
        {
            ViewChanged?.Invoke(view);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogSubscriberFailed(_logger, e);
        }
    }

    private ClusterView BuildView(long version)
    {
        var placement = RingPlacement.Compute(Ring.FromState(_state), _network.ShardCount, _network.ReplicationFactor);
        var status = _state.StatusOf(Self);
        string? problem = _joinProblem;
        var serving = status is { } s && s.IsLive() && _decision is not DowningDecision.StopServing;
        if (_decision is DowningDecision.StopServing stop)
        {
            problem ??= $"not serving: {stop.Reason} (keep-majority downing)";
        }
        else if (status is MemberStatus.Down or MemberStatus.Removed)
        {
            problem ??= $"this node is {status}; it no longer takes part (start it with an empty data folder to join again)";
        }
        else if (status is null)
        {
            problem ??= "not a member yet (joining)";
        }
        return new ClusterView(version, Self, _selfRecord.Address, _state, _network, placement, serving, problem);
    }

    // Written when the version moved (a membership change) or parameters were adopted; seen-set updates alone are
    // not worth a durable write.
    private async Task PersistAsync(CancellationToken cancellationToken)
    {
        if (_store is null || !_state.Members.ContainsKey(Self)
            || (_state.Version.Equals(_persistedVersion) && _network.Equals(_persistedNetwork)))
        {
            return;
        }
        await _store.SaveAsync(_network, _state, cancellationToken).ConfigureAwait(false);
        _persistedVersion = _state.Version;
        _persistedNetwork = _network;
    }
}
