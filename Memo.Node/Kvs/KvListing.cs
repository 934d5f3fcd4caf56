namespace Memo.Node.Kvs;

/// <summary>
/// One page of a listing: keys, common prefixes rolled up by the delimiter, and whether more follow.
/// Keys and prefixes both count towards the page size, as in memo and S3.
/// </summary>
public sealed record KvListing(KvStatus Status, IReadOnlyList<string> Keys, IReadOnlyList<string> Prefixes, bool Truncated, string? Message = null);
