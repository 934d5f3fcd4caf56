namespace Memo.Protocol.Security;

/// <summary>What a certificate issued by a network's CA lets its holder do. Written into the certificate's subject as
/// its organizational unit (<see cref="MemoCertificateIdentity"/>), so one check of the chain and the subject says
/// who is calling.</summary>
public enum CertificateRole
{
    /// <summary>A node of the network: may associate with other nodes, join the cluster and take part in Raft, under
    /// the NodeId its certificate carries.</summary>
    Node = 1,

    /// <summary>An administrator: may ask a node's admin actor (<c>memo cluster …</c>); never a cluster member.</summary>
    Admin = 2,
}
