using System.Security.Cryptography;

namespace Memo.Node.Storage.Policies;

/// <summary>
/// The key-encryption key (KEK): 32 bytes, given to the node from outside its data folder (a file, or an environment
/// variable), that wraps the node's data keys. Nothing derived from it is stored: a copy of the data folder without
/// the KEK holds only ciphertext and wrapped keys.
/// </summary>
public sealed class KeyEncryptionKey
{
    /// <summary>Length of a KEK: AES-256.</summary>
    public const int Length = 32;

    /// <summary>The environment variable that may hold the KEK (base64 of 32 bytes) when no KEK file is configured.</summary>
    public const string EnvironmentVariable = "MEMO_KEK";

    /// <summary>The environment variable that may hold the previous KEK during a rotation.</summary>
    public const string PreviousEnvironmentVariable = "MEMO_PREVIOUS_KEK";

    private readonly byte[] _key;

    private KeyEncryptionKey(byte[] key, string source)
    {
        _key = key;
        Source = source;
    }

    /// <summary>Where the key came from (a file path or an environment variable's name), for messages; never the key.</summary>
    public string Source { get; }

    /// <summary>The key bytes (a copy).</summary>
    internal byte[] Bytes => _key.AsSpan().ToArray();

    /// <summary>A KEK from its bytes (tests, benchmarks).</summary>
    public static KeyEncryptionKey FromBytes(ReadOnlySpan<byte> key, string source)
    {
        if (key.Length != Length)
        {
            throw new KeyEncryptionKeyException($"The key-encryption key from {source} has {key.Length} bytes; it must have {Length}.");
        }
        return new KeyEncryptionKey(key.ToArray(), source);
    }

    /// <summary>A fresh random KEK, as base64 text for a KEK file or <see cref="EnvironmentVariable"/>.</summary>
    public static string NewBase64() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(Length));

    /// <summary>
    /// The KEK from <paramref name="file"/> when it is not empty, else from the environment variable
    /// <paramref name="variable"/>; null when neither is set. Throws <see cref="KeyEncryptionKeyException"/> with the
    /// reason when the one given is unreadable, not 32 bytes, or (a file) readable by other users.
    /// </summary>
    /// <remarks>A file holds either the 32 raw bytes or their base64 text (surrounding whitespace ignored); the variable
    /// holds base64 text.</remarks>
    public static KeyEncryptionKey? Load(string file, string variable, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(environment);
        if (file.Length > 0)
        {
            byte[] content;
            try
            {
                CheckFileMode(file);
                content = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new KeyEncryptionKeyException($"The key-encryption key file {file} cannot be read: {e.Message}", e);
            }
            return content.Length == Length ? new KeyEncryptionKey(content, file) : FromBase64(System.Text.Encoding.ASCII.GetString(content), file);
        }
        return environment(variable) is { Length: > 0 } text ? FromBase64(text, "$" + variable) : null;
    }

    private static KeyEncryptionKey FromBase64(string text, string source)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            throw new KeyEncryptionKeyException(
                $"The key-encryption key from {source} is neither {Length} raw bytes nor base64 text (make one with: head -c 32 /dev/urandom | base64).");
        }
        return FromBytes(key, source);
    }

    // Like node.key: a KEK other users can read protects nothing from them.
    private static void CheckFileMode(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return;
        }
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        var mode = File.GetUnixFileMode(path);
        if ((mode & others) != 0)
        {
            throw new KeyEncryptionKeyException(
                $"The key-encryption key file {path} is accessible by other users (mode 0{Convert.ToString((int)mode & 0x1FF, 8)}); it must be readable by its owner only. Run: chmod 600 {path}");
        }
    }
}

/// <summary>The key-encryption key is missing, malformed, or not the one the node's data keys were wrapped with. The node
/// does not start.</summary>
public sealed class KeyEncryptionKeyException : Exception
{
    /// <summary>Creates the exception; the message says what is wrong and what to do.</summary>
    public KeyEncryptionKeyException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
