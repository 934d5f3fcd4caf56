using System.Security.Cryptography.X509Certificates;
using Memo.Node.Configuration;
using Memo.Node.Hosting;
using Memo.Protocol.Security;

namespace Memo.Node.Security;

/// <summary>
/// The certificates a node starts with, loaded and checked once: its node certificate for mutual TLS on remoting
/// (<c>memo.node.certificate</c> with <c>node.key</c>, under <c>memo.network.ca</c>) and its API certificate
/// (<c>memo.api.tls</c>). Every problem is a <see cref="MemoConfigurationException"/> that names the file and the fix.
/// </summary>
public sealed class NodeCertificates : IDisposable
{
    private NodeCertificates(PeerCertificates? peers, X509Certificate2? remoting, NodeId certifiedNode, X509Certificate2? api)
    {
        Peers = peers;
        Remoting = remoting;
        CertifiedNode = certifiedNode;
        Api = api;
    }

    /// <summary>The handshake check and the table of presented certificates; null without remoting TLS.</summary>
    public PeerCertificates? Peers { get; }

    /// <summary>The node certificate with its key; null without remoting TLS.</summary>
    public X509Certificate2? Remoting { get; }

    /// <summary>The NodeId the node certificate names; <see cref="NodeId.None"/> without one.</summary>
    public NodeId CertifiedNode { get; }

    /// <summary>The API's certificate with its key; null for cleartext.</summary>
    public X509Certificate2? Api { get; }

    /// <summary>What Akka remoting needs, or null for plaintext remoting.</summary>
    public RemotingTls? RemotingTls => Remoting is null || Peers is null ? null : new RemotingTls(Remoting, Peers.Validator);

    /// <summary>Loads and checks the certificates <paramref name="options"/> name; the node key is <c>node.key</c> in
    /// <paramref name="folder"/>.</summary>
    /// <exception cref="MemoConfigurationException">A file is missing or unreadable, or a certificate does not fit.</exception>
    public static NodeCertificates Load(MemoOptions options, DataFolder folder)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(folder);
        var passphrase = Environment.GetEnvironmentVariable(NodeIdentity.PassphraseVariable);
        PeerCertificates? peers = null;
        X509Certificate2? remoting = null;
        X509Certificate2? api = null;
        try
        {
            var certified = NodeId.None;
            if (options.Node.Certificate.Length > 0)
            {
                var trust = NetworkTrust.Load(options.Network.Ca);
                peers = new PeerCertificates(trust);
                var keyPath = folder.File(NodeIdentity.FileName);
                remoting = PemFiles.LoadCertificateWithKey(options.Node.Certificate, keyPath, passphrase, "node certificate (memo.node.certificate)");
                var identity = trust.Check(remoting, out var problem);
                if (identity is null)
                {
                    throw new CertificateFileException($"memo.node.certificate {options.Node.Certificate}: {problem}");
                }
                if (identity.Role != CertificateRole.Node)
                {
                    throw new CertificateFileException($"memo.node.certificate {options.Node.Certificate} is an {identity} certificate, not a node certificate (make one with `memo node certify`)");
                }
                certified = new NodeId(identity.NodeId);
            }
            if (options.Api.Tls)
            {
                api = PemFiles.LoadCertificateWithKey(options.Api.TlsCertificate, options.Api.TlsKey, passphrase, "API certificate (memo.api.tls)");
            }
            return new NodeCertificates(peers, remoting, certified, api);
        }
        catch (CertificateFileException e)
        {
            peers?.Dispose();
            remoting?.Dispose();
            api?.Dispose();
            throw new MemoConfigurationException([e.Message]);
        }
    }

    /// <summary>Checks that the node certificate names <paramref name="node"/>, the data folder's NodeId.</summary>
    /// <exception cref="MemoConfigurationException">It names another node.</exception>
    public void CheckNode(NodeId node, string dataDirectory, string certificatePath)
    {
        if (!CertifiedNode.IsNone && CertifiedNode != node)
        {
            throw new MemoConfigurationException([
                $"memo.node.certificate {certificatePath} names node {CertifiedNode} but the data folder {dataDirectory} is node {node}; " +
                $"certify this node with `memo node certify --data {dataDirectory} --id {node} ...`"]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Peers?.Dispose();
        Remoting?.Dispose();
        Api?.Dispose();
    }
}
