namespace Memo.Node.Kvs;

/// <summary>
/// One page of a listing: keys, common prefixes rolled up by the delimiter, and whether more follow.
/// Keys and prefixes both count towards the page size, as in memo and S3.
/// </summary>
/// <param name="Status">Ok, or why the listing was refused.</param>
/// <param name="Keys">Keys of the page, in key order.</param>
/// <param name="Prefixes">Common prefixes of the page, in key order.</param>
/// <param name="Truncated">Whether more may follow.</param>
/// <param name="Message">Why the listing was refused.</param>
/// <param name="NextMarker">When truncated, the marker that continues the listing: the page's last key or prefix, or
/// a later key when the work budget stopped the walk past it.</param>
public sealed record KvListing(KvStatus Status, IReadOnlyList<string> Keys, IReadOnlyList<string> Prefixes, bool Truncated, string? Message = null, string? NextMarker = null);
