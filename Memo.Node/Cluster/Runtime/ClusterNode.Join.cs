using System.Collections.Immutable;
using Memo.Protocol.Cluster;
using Grpc.Core;

namespace Memo.Node.Cluster.Runtime;

public sealed partial class ClusterNode
{
    // Join protocol (docs/design/cluster.md, "Join"): ask each seed in turn with one unary AdmitMember call; the first
    // that admits us answers with its state (us in it, as Joining) and the network parameters, which the loop merges
    // and adopts; gossip does the rest and the leader moves us Up on convergence. A seed that is not a member yet
    // (UNAVAILABLE) or cannot be reached is skipped; after a round with no answer we back off (doubling, jittered,
    // JoinRetryMin..JoinRetryMax). A refusal that cannot change by waiting (another network, another shard count,
    // a retired id) ends the attempt and is shown in the view's Problem.
    private void StartJoining(ImmutableArray<string> seeds)
    {
        _joinCancel?.Cancel();
        _joinCancel?.Dispose();
        _joinCancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var token = _joinCancel.Token;
        var previous = _joiner;
        _joiner = Task.Run(async () =>
        {
            if (previous is not null)
            {
                await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            await JoinLoopAsync(seeds, token).ConfigureAwait(false);
        }, CancellationToken.None);
    }

    private async Task JoinLoopAsync(ImmutableArray<string> seeds, CancellationToken cancellationToken)
    {
        var request = new AdmitMemberRequest
        {
            Format = GossipCodec.Format,
            Node = Self.Value,
            Address = _selfRecord.Address,
            NetworkName = _network.Name,
            ShardCount = _network.ShardCount,
        };
        foreach (var token in _selfRecord.Tokens)
        {
            request.Tokens.Add(token);
        }
        request.Roles.AddRange(_selfRecord.Roles);
        var backoff = _options.JoinRetryMin;
        var jitter = new Random(unchecked((int)Self.Value));
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                string? lastProblem = null;
                foreach (var seed in seeds)
                {
                    if (seed == _selfRecord.Address)
                    {
                        continue;
                    }
                    LogJoinAttempt(_logger, Self, seed);
                    try
                    {
                        var response = await _joinChannel.AdmitAsync(seed, request, cancellationToken).ConfigureAwait(false);
                        if (Validate(response, out var state) is { } problem)
                        {
                            lastProblem = $"{seed}: {problem}";
                            LogJoinRefused(_logger, seed, problem);
                            continue;
                        }
                        await _mailbox.Writer.WriteAsync(new Input.Admitted(response, state!), cancellationToken).ConfigureAwait(false);
                        return;
                    }
                    catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.InvalidArgument)
                    {
                        var detail = e.Status.Detail;
                        var problem = $"join refused by {seed}: {detail}";
                        LogJoinRefused(_logger, seed, detail);
                        await _mailbox.Writer.WriteAsync(new Input.JoinFailed(problem), cancellationToken).ConfigureAwait(false);
                        if (detail.Contains("shards", StringComparison.Ordinal) || detail.Contains("network", StringComparison.Ordinal)
                            || detail.Contains("retired", StringComparison.Ordinal))
                        {
                            LogJoinGivenUp(_logger, Self, problem);
                            return;
                        }
                        lastProblem = problem;
                    }
                    catch (RpcException e)
                    {
                        lastProblem = $"{seed}: {e.StatusCode} {e.Status.Detail}";
                    }
                }
                if (lastProblem is not null)
                {
                    await _mailbox.Writer.WriteAsync(new Input.JoinFailed("joining: " + lastProblem), cancellationToken).ConfigureAwait(false);
                }
                var wait = TimeSpan.FromTicks((long)(backoff.Ticks * (0.75 + (jitter.NextDouble() / 2))));
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.JoinRetryMax.Ticks));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped, or a new join replaced this one.
        }
    }

    private string? Validate(AdmitMemberResponse response, out MembershipState? state)
    {
        state = null;
        if (response.Format != GossipCodec.Format)
        {
            return $"answer format {response.Format}; this node reads {GossipCodec.Format}";
        }
        if (response.NetworkName != _network.Name || response.ShardCount != _network.ShardCount)
        {
            return $"the seed is network '{response.NetworkName}' with {response.ShardCount} shards; this node is '{_network.Name}' with {_network.ShardCount}";
        }
        Wire.MembershipState wire;
        try
        {
            wire = Wire.MembershipState.Parser.ParseFrom(response.State.Span);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            return "malformed state: " + e.Message;
        }
        return GossipCodec.TryFromWire(wire, out state, out var problem) ? null : problem;
    }
}
