using System.Globalization;
using System.Numerics;

namespace Memo.Cli.Output;

/// <summary>
/// Prints the kept versions of a key or a mutable block (<c>memo kv versions</c>, <c>memo block versions</c>), newest
/// first: one per line with the first marked <c>(current)</c>, or with <c>--json</c> one object
/// <c>{"&lt;subject&gt;": ..., "current": n, "versions": [...]}</c>.
/// </summary>
internal static class VersionList
{
    /// <summary>Writes the list.</summary>
    /// <param name="io">Where to print.</param>
    /// <param name="json">Whether to print the JSON object instead of lines.</param>
    /// <param name="subjectName">The JSON property naming what the versions belong to (<c>key</c>, <c>address</c>).</param>
    /// <param name="subject">Its value.</param>
    /// <param name="versions">The kept versions, newest first; never empty (a missing subject is reported before).</param>
    public static void Print<T>(CliIo io, bool json, string subjectName, string subject, IReadOnlyList<T> versions)
        where T : IBinaryInteger<T>
    {
        // Version numbers are whole numbers the JSON writer takes as raw text; Int64 and UInt64 both format exactly.
        var texts = versions.Select(v => v.ToString(null, CultureInfo.InvariantCulture)).ToList();
        if (json)
        {
            io.WriteLine(Json.Write(w =>
            {
                w.WriteString(subjectName, subject);
                w.WritePropertyName("current");
                w.WriteRawValue(texts[0]);
                w.WriteStartArray("versions");
                foreach (var text in texts)
                {
                    w.WriteRawValue(text);
                }
                w.WriteEndArray();
            }));
            return;
        }
        for (var i = 0; i < texts.Count; i++)
        {
            io.WriteLine(i == 0 ? $"{texts[i]} (current)" : texts[i]);
        }
    }
}
