namespace Memo.Node.Cluster;

/// <summary>
/// One <see cref="PhiAccrualFailureDetector"/> per monitored peer. A peer is monitored from its first heartbeat
/// until <see cref="Remove"/>; an unmonitored peer counts as available (nothing is known against it). Not
/// thread-safe: owned by the membership actor.
/// </summary>
public sealed class FailureDetectorRegistry
{
    private readonly FailureDetectorOptions _options;
    private readonly Dictionary<NodeId, PhiAccrualFailureDetector> _detectors = [];

    /// <summary>A registry whose detectors all use <paramref name="options"/>.</summary>
    public FailureDetectorRegistry(FailureDetectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Validate once here rather than at the first heartbeat.
        _ = new PhiAccrualFailureDetector(options);
        _options = options;
    }

    /// <summary>The peers with a detector, in no particular order.</summary>
    public IReadOnlyCollection<NodeId> Monitored => _detectors.Keys;

    /// <summary>Records a heartbeat from <paramref name="peer"/>, starting to monitor it if needed.</summary>
    public void Heartbeat(NodeId peer, long nowMillis)
    {
        if (!_detectors.TryGetValue(peer, out var detector))
        {
            detector = new PhiAccrualFailureDetector(_options);
            _detectors.Add(peer, detector);
        }
        detector.Heartbeat(nowMillis);
    }

    /// <summary>True when <paramref name="peer"/> has a detector.</summary>
    public bool IsMonitoring(NodeId peer) => _detectors.ContainsKey(peer);

    /// <summary>The peer's phi at <paramref name="nowMillis"/>; 0 when unmonitored.</summary>
    public double Phi(NodeId peer, long nowMillis) => _detectors.TryGetValue(peer, out var d) ? d.Phi(nowMillis) : 0;

    /// <summary>False when the peer's phi has reached the threshold; true when unmonitored.</summary>
    public bool IsAvailable(NodeId peer, long nowMillis) => !_detectors.TryGetValue(peer, out var d) || d.IsAvailable(nowMillis);

    /// <summary>Stops monitoring <paramref name="peer"/> (it left or was removed); a later heartbeat starts afresh.</summary>
    public bool Remove(NodeId peer) => _detectors.Remove(peer);

    /// <summary>Stops monitoring everyone.</summary>
    public void Clear() => _detectors.Clear();
}
