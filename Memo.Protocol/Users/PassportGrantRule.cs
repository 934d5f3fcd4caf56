namespace Memo.Protocol.Users;

/// <summary>Rights on the keys that start with <paramref name="Prefix"/> (empty: every key and every block).</summary>
/// <param name="Rights">What is allowed there.</param>
/// <param name="Prefix">The key prefix; network-wide rights (<see cref="PassportRightsText.NetworkWide"/>) only with "".</param>
public readonly record struct PassportGrantRule(PassportRights Rights, string Prefix)
{
    /// <summary>True when this grant gives <paramref name="right"/> on <paramref name="key"/>.</summary>
    public bool Covers(PassportRights right, string key) => (Rights & right) == right && key.StartsWith(Prefix, StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => Prefix.Length == 0 ? PassportRightsText.Format(Rights) : $"{PassportRightsText.Format(Rights)} on '{Prefix}*'";
}
