namespace Memo.Node.Kvs;

/// <summary>Expected outcomes of key-value operations (memo's status codes).</summary>
public enum KvStatus
{
    /// <summary>Done.</summary>
    Ok = 0,
    /// <summary>Update, Fetch or Delete of a missing key.</summary>
    NotFound = 1,
    /// <summary>Insert of an existing key.</summary>
    AlreadyExists = 2,
    /// <summary>Empty or oversized key, oversized value, bad list arguments.</summary>
    InvalidArgument = 3,
    /// <summary>The key exists but its value cannot be served (its value block is not stored); overwrite or delete the key.</summary>
    FailedPrecondition = 4,
    /// <summary>The network has an owner and the caller has not proved a right to this write (its shard refused it).</summary>
    PermissionDenied = 5,
}
