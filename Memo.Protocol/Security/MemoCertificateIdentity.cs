using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace Memo.Protocol.Security;

/// <summary>
/// Who a certificate issued by a network's CA names: its role and, for a node, its NodeId; for an administrator, a
/// name. Carried in the subject: <c>CN=&lt;16 hex digits&gt;, OU=memo-node</c> or <c>CN=&lt;name&gt;, OU=memo-admin</c>,
/// plus <c>O=&lt;network&gt;</c>. The subject is covered by the CA's signature, so once the chain is checked
/// (<see cref="NetworkTrust"/>) the identity is the CA's word.
/// </summary>
/// <param name="Role">The holder's role.</param>
/// <param name="Name">A node's id as 16 lower-case hex digits, or an administrator's name.</param>
/// <param name="Network">The network name the CA was made for.</param>
public sealed record MemoCertificateIdentity(CertificateRole Role, string Name, string Network)
{
    /// <summary>The organizational unit of node certificates.</summary>
    public const string NodeUnit = "memo-node";

    /// <summary>The organizational unit of administrator certificates.</summary>
    public const string AdminUnit = "memo-admin";

    /// <summary>The organizational unit of a network's CA certificate.</summary>
    public const string AuthorityUnit = "memo-ca";

    /// <summary>A node's id as the 64-bit number the node uses (only for <see cref="CertificateRole.Node"/>).</summary>
    public ulong NodeId => Role == CertificateRole.Node ? ulong.Parse(Name, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture) : 0;

    /// <summary>The identity of node <paramref name="nodeId"/> (non-zero).</summary>
    public static MemoCertificateIdentity ForNode(ulong nodeId, string network)
    {
        ArgumentOutOfRangeException.ThrowIfZero(nodeId);
        return new MemoCertificateIdentity(CertificateRole.Node, nodeId.ToString("x16", CultureInfo.InvariantCulture), network);
    }

    /// <summary>The identity of administrator <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is empty, longer than 64 characters or holds characters other than
    /// letters, digits, '-', '_', '.', '@'.</exception>
    public static MemoCertificateIdentity ForAdmin(string name, string network)
    {
        if (!IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not an administrator name (1..64 letters, digits, '-', '_', '.', '@').", nameof(name));
        }
        return new MemoCertificateIdentity(CertificateRole.Admin, name, network);
    }

    /// <summary>The subject this identity is written as.</summary>
    public X500DistinguishedName ToSubject()
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName(Network);
        builder.AddOrganizationalUnitName(Role == CertificateRole.Node ? NodeUnit : AdminUnit);
        builder.AddCommonName(Name);
        return builder.Build();
    }

    /// <summary>Reads the identity a certificate's subject carries; false with the reason when it carries none (a
    /// certificate made for something else, or a CA certificate).</summary>
    public static bool TryRead(X509Certificate2 certificate, [NotNullWhen(true)] out MemoCertificateIdentity? identity,
        [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        identity = null;
        string? commonName = null, unit = null, network = null;
        foreach (var part in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (part.HasMultipleElements)
            {
                continue;
            }
            var value = part.GetSingleElementValue();
            switch (part.GetSingleElementType().Value)
            {
                case "2.5.4.3": commonName = value; break;   // CN
                case "2.5.4.11": unit = value; break;        // OU
                case "2.5.4.10": network = value; break;     // O
            }
        }
        if (commonName is null || unit is null || network is null)
        {
            problem = $"the certificate '{certificate.Subject}' names no memo identity (CN, OU=memo-node or memo-admin, O=network)";
            return false;
        }
        switch (unit)
        {
            case NodeUnit when commonName.Length == 16
                && ulong.TryParse(commonName, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id) && id != 0:
                identity = new MemoCertificateIdentity(CertificateRole.Node, commonName.ToLowerInvariant(), network);
                problem = null;
                return true;
            case NodeUnit:
                problem = $"the node certificate '{certificate.Subject}' carries no valid NodeId (16 hex digits)";
                return false;
            case AdminUnit when IsValidName(commonName):
                identity = new MemoCertificateIdentity(CertificateRole.Admin, commonName, network);
                problem = null;
                return true;
            default:
                problem = $"the certificate '{certificate.Subject}' is neither a memo node nor a memo administrator certificate";
                return false;
        }
    }

    /// <summary>The identity as text for logs and errors, e.g. <c>node 00ab… of network 'memo'</c>.</summary>
    public override string ToString() => $"{(Role == CertificateRole.Node ? "node" : "admin")} {Name} of network '{Network}'";

    private static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 64 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@');
}
