using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Memo.Node.Configuration;

/// <summary>
/// Holds every layer to the keys the defaults define, so that a typo cannot silently fall back to a default: a key
/// the defaults lack is unknown, and a value where the defaults have an object (or the reverse) has the wrong shape.
/// The top-level <c>akka</c> section passes untouched: it belongs to Akka (<see cref="MemoOptions.Config"/>).
/// </summary>
internal static class KnownKeys
{
    /// <summary>The top-level section handed to Akka as it is.</summary>
    public const string AkkaSection = "akka";

    /// <summary>Adds a problem for each unknown or misshapen key of <paramref name="layer"/>; records the paths of
    /// misshapen ones in <paramref name="reported"/>, so that reading the merged tree does not report them again.</summary>
    public static void Check(Config reference, ConfigLayer layer, List<string> problems, ISet<string> reported)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(layer);
        var schema = reference.Root.GetObject();
        var known = schema.Items.Keys.Append(AkkaSection).ToList();
        foreach (var (key, value) in layer.Config.Root.GetObject().Items)
        {
            if (key == AkkaSection)
            {
                continue;
            }

            if (!schema.Items.TryGetValue(key, out var expected))
            {
                problems.Add($"{key} ({layer.Source}): unknown key (known here: {string.Join(", ", known)})");
                continue;
            }

            Compare(value, expected, key, layer.Source, problems, reported);
        }
    }

    private static void Compare(HoconValue value, HoconValue expected, string path, string source, List<string> problems, ISet<string> reported)
    {
        var valueObject = value.GetObject();
        var expectedObject = expected.GetObject();
        if (valueObject is not null && expectedObject is not null)
        {
            foreach (var (key, child) in valueObject.Items)
            {
                var childPath = path + "." + key;
                if (expectedObject.Items.TryGetValue(key, out var expectedChild))
                {
                    Compare(child, expectedChild, childPath, source, problems, reported);
                }
                else
                {
                    problems.Add($"{childPath} ({source}): unknown key (known here: {string.Join(", ", expectedObject.Items.Keys)})");
                }
            }
        }
        else if (expectedObject is not null)
        {
            problems.Add($"{path} = {OptionsReader.Show(value)} ({source}): expected an object with keys {string.Join(", ", expectedObject.Items.Keys)}");
            reported.Add(path);
        }
        else if (valueObject is not null)
        {
            problems.Add($"{path} ({source}): expected a value, found an object");
            reported.Add(path);
        }
    }
}
