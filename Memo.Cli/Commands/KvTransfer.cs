namespace Memo.Cli.Commands;

/// <summary>
/// How <c>memo kv import</c> and <c>export</c> map keys to files (pure): a key is the key prefix followed by the file's
/// path relative to the folder, with <c>/</c> between segments on every platform. A key that cannot be a relative
/// path inside the folder (empty segments, <c>.</c> or <c>..</c>, a NUL) is not exported: it could escape the folder.
/// </summary>
internal static class KvTransfer
{
    /// <summary>The key for a file under <paramref name="folder"/>.</summary>
    public static string KeyOf(string folder, string file, string prefix) =>
        prefix + Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>Where a key's value goes under <paramref name="folder"/>, or null when the key (less the prefix) is
    /// not a safe relative path.</summary>
    public static string? FileOf(string folder, string key, string prefix)
    {
        if (!key.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var segments = key[prefix.Length..].Split('/');
        if (segments.Any(s => s.Length == 0 || s is "." or ".." || s.Contains('\0') || s.Contains('\\')))
        {
            return null;
        }
        return Path.Combine([folder, .. segments]);
    }

    /// <summary>"12.3 MiB" and the like.</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F1} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):F1} KiB",
        _ => $"{bytes} B",
    };
}
