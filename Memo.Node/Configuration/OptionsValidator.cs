using System.Globalization;

namespace Memo.Node.Configuration;

/// <summary>Collects rule violations as <c>path = value: rule</c> lines (etcd <c>Config.validate</c>, but
/// reporting all of them rather than the first).</summary>
internal sealed class OptionsValidator
{
    public List<string> Problems { get; } = [];

    public void Require(bool ok, string path, string shownValue, string rule)
    {
        if (!ok)
        {
            Problems.Add($"{path} = {shownValue}: {rule}");
        }
    }

    public void Range(string path, long value, long min, long max) =>
        Require(value >= min && value <= max, path, Show(value),
            $"must be between {Show(min)} and {Show(max)}");

    public void SizeRange(string path, long value, long min, long max) =>
        Require(value >= min && value <= max, path, ConfigUnits.FormatByteSize(Math.Max(0, value)),
            $"must be between {ConfigUnits.FormatByteSize(min)} and {ConfigUnits.FormatByteSize(max)}");

    public void DurationRange(string path, TimeSpan value, TimeSpan min, TimeSpan max) =>
        Require(value >= min && value <= max, path, ShowDuration(value),
            $"must be between {ConfigUnits.FormatDuration(min)} and {ConfigUnits.FormatDuration(max)}");

    public static string Show(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string ShowDuration(TimeSpan value) =>
        value >= TimeSpan.Zero ? ConfigUnits.FormatDuration(value) : value.ToString("c", CultureInfo.InvariantCulture);
}
