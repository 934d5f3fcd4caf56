namespace Memo.Node.Configuration;

/// <summary>Whether the API asks every call for a passport (<c>memo.security.require-passport</c>).</summary>
public enum PassportRequirement
{
    /// <summary>On when the network has an owner (<c>memo.network.owner</c>, recorded at its creation), off otherwise.</summary>
    Auto = 0,

    /// <summary>Every call on memo.kvs and memo.vs needs a valid passport and call token; the network must have an owner.</summary>
    On = 1,

    /// <summary>Calls without a passport are served anonymously (a network with an owner still refuses their key-value
    /// writes at the shard, which checks the writer's proof whatever the API does).</summary>
    Off = 2,
}

/// <summary>Users, passports and signed calls (<c>memo.security</c>; docs/security.md, "Authenticated clients").</summary>
/// <param name="RequirePassport">Whether calls need a passport.</param>
/// <param name="CallWindow">How far a call token's time may be from the node's clock, either way; tokens are
/// remembered (their nonce) for twice this long, so a replayed token is refused.</param>
/// <param name="MaxTrackedNonces">Most call nonces remembered at once; beyond it calls are refused RESOURCE_EXHAUSTED
/// until older ones leave the window.</param>
/// <param name="RevocationRefresh">How often the node reads the network's revocation list.</param>
public sealed record SecurityOptions(PassportRequirement RequirePassport, TimeSpan CallWindow, int MaxTrackedNonces, TimeSpan RevocationRefresh)
{
    internal const string Path = "memo.security";

    private static readonly Dictionary<string, PassportRequirement> Requirements = new(StringComparer.Ordinal)
    {
        ["auto"] = PassportRequirement.Auto,
        ["on"] = PassportRequirement.On,
        ["off"] = PassportRequirement.Off,
    };

    internal static SecurityOptions Read(OptionsReader r) => new(
        r.Choice($"{Path}.require-passport", Requirements),
        r.Duration($"{Path}.call-window"),
        r.Int32($"{Path}.max-tracked-nonces"),
        r.Duration($"{Path}.revocation-refresh"));

    internal void Validate(OptionsValidator v)
    {
        v.DurationRange($"{Path}.call-window", CallWindow, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        v.Range($"{Path}.max-tracked-nonces", MaxTrackedNonces, 1024, 16 << 20);
        v.DurationRange($"{Path}.revocation-refresh", RevocationRefresh, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
    }
}
