namespace Memo.Node.Routing;

public sealed partial class ClusterShardGateway
{
    // Where one request goes next: the believed leader first, then the other candidates in turn.
    private sealed class Route
    {
        private const int MaxRedirectsWithoutPause = 3;

        private readonly ClusterShardGateway _gateway;
        private readonly List<NodeId> _candidates = [];
        private int _next;
        private int _redirects;
        private TimeSpan _backoff;

        public Route(ClusterShardGateway gateway, ShardId shard)
        {
            _gateway = gateway;
            _backoff = gateway._options.MinBackoff;
            var host = gateway._host;
            if (host.TryGetReplica(shard, out var local))
            {
                var status = local.Status;
                Add(status.IsLeader ? host.Self : status.Leader);
            }
            Add(host.LeaderReport(shard)?.Node ?? NodeId.None);
            foreach (var node in host.Cluster.View.ReplicasOf(shard).Nodes)
            {
                Add(node);
            }
            if (local is not null)
            {
                foreach (var voter in local.Status.Membership.Voters)
                {
                    Add(voter);
                }
            }
            Add(host.Self);
            Target = _candidates[0];
        }

        public NodeId Target { get; private set; }

        // Follows a NOT_LEADER hint at once (true), or moves to the next candidate and asks for a pause (false).
        public bool Redirect(NodeId hint)
        {
            if (!hint.IsNone && hint != Target && _redirects < MaxRedirectsWithoutPause)
            {
                _redirects++;
                Add(hint);
                Target = hint;
                return true;
            }
            Unreachable();
            return false;
        }

        public void Unreachable()
        {
            _next = (_next + 1) % _candidates.Count;
            Target = _candidates[_next];
        }

        public TimeSpan NextBackoff()
        {
            _redirects = 0;
            var pause = _backoff;
            _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, _gateway._options.MaxBackoff.Ticks));
            return pause;
        }

        private void Add(NodeId node)
        {
            if (!node.IsNone && !_candidates.Contains(node))
            {
                _candidates.Add(node);
            }
        }
    }
}
