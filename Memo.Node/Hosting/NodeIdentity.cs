using System.Security.Cryptography;
using Memo.Protocol.Blocks;

namespace Memo.Node.Hosting;

/// <summary>
/// The node's key pair, created at first start as <c>node.key</c> (PKCS#8 PEM, owner-only permissions)
/// in the data folder. The node owns the blocks it makes for clients that send unsigned data, and signs
/// them with this key, so losing the file loses the right to update or delete those blocks.
/// </summary>
public static class NodeIdentity
{
    /// <summary>The key file's name inside the data folder.</summary>
    public const string FileName = "node.key";

    /// <summary>Loads the node key, creating it (atomically: write, flush, rename) when absent.</summary>
    public static MemoKeyPair LoadOrCreate(DataFolder folder)
    {
        var path = folder.File(FileName);
        if (File.Exists(path))
        {
            try
            {
                var pem = File.ReadAllText(path);
                var der = PemEncoding.Find(pem);
                if (!pem.AsSpan()[der.Label].SequenceEqual("PRIVATE KEY"))
                {
                    throw new InvalidDataException("not a PKCS#8 PRIVATE KEY PEM block");
                }
                return MemoKeyPair.FromPkcs8(Convert.FromBase64String(pem[der.Base64Data]));
            }
            catch (Exception e) when (e is ArgumentException or FormatException or CryptographicException or InvalidDataException)
            {
                throw new InvalidDataException($"The node key {path} is corrupt ({e.Message}). Restore it from a backup; deleting it gives the node a new identity that does not own its earlier blocks.", e);
            }
        }

        var key = MemoKeyPair.Generate();
        var text = PemEncoding.WriteString("PRIVATE KEY", key.ExportPkcs8());
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return key;
    }
}
