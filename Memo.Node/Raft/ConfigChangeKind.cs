namespace Memo.Node.Raft;

/// <summary>A one-server membership change. Persisted in log entries: values are fixed forever.</summary>
public enum ConfigChangeKind : byte
{
    /// <summary>Adds a non-voting learner that receives the log but neither votes nor counts for commit.</summary>
    AddLearner = 1,

    /// <summary>Turns an existing learner into a voter.</summary>
    PromoteLearner = 2,

    /// <summary>Removes a voter or a learner.</summary>
    Remove = 3,
}
