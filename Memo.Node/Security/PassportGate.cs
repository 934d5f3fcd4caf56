using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Memo.Protocol.Users;
using Memo.Protocol.Users.Wire;
using KvsApi = Memo.Protocol.Kvs;
using Vs = Memo.Protocol.ValueStore;

namespace Memo.Node.Security;

// Design note: one signed token per call.
//
// An authenticated client sends its passport and, with every call, a token it signed: time, nonce and a digest of
// what the call does (CallStatement). The gate checks, in order: the passport chains to the network owner (cached per
// passport), is not revoked (this node's copy of the revocation list) nor expired; the token is within
// memo.security.call-window of the node's clock; the user's signature covers this call (cached per signature, so the
// proposer's and the apply's checks of a write on this node cost a hash); the nonce is new (remembered for twice the
// window, at most memo.security.max-tracked-nonces). Any failure is UNAUTHENTICATED. Then the passport's grants must
// cover the call (PERMISSION_DENIED otherwise). A per-call token rather than a TLS client certificate: the shard
// replicas re-check a key-value write against its writer's signature when they apply it, which a TLS session
// (between the client and one node) cannot give them. docs/security.md, "Authenticated clients", has the cost.

/// <summary>
/// The API's authentication and authorization of memo.kvs and memo.vs calls on a network with an owner: a gRPC
/// server interceptor that admits a call with a valid passport and call token (the caller is then in
/// <see cref="ServerCallContext.UserState"/> under <see cref="CallerKey"/>), refuses one without them when passports
/// are required, and refuses calls beyond the passport's grants. Thread-safe.
/// </summary>
public sealed class PassportGate : Interceptor
{
    /// <summary>The <see cref="ServerCallContext.UserState"/> key of the <see cref="AuthenticatedCaller"/>.</summary>
    public const string CallerKey = "memo.caller";

    private readonly NetworkAccess _access;
    private readonly bool _required;
    private readonly TimeSpan _window;
    private readonly int _maxNonces;
    private readonly PassportRevocations _revocations;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<UInt128, long> _nonces = new();
    private long _nextSweepMs;

    /// <summary>Creates the gate.</summary>
    /// <param name="access">The network's owner and name.</param>
    /// <param name="required">Whether a call without a passport is refused (else served anonymously).</param>
    /// <param name="window">How far a token's time may be from the node's clock.</param>
    /// <param name="maxNonces">Most nonces remembered.</param>
    /// <param name="revocations">This node's copy of the revocation list.</param>
    /// <param name="clock">The node's clock.</param>
    public PassportGate(NetworkAccess access, bool required, TimeSpan window, int maxNonces, PassportRevocations revocations, TimeProvider clock)
    {
        _access = access;
        _required = required;
        _window = window;
        _maxNonces = maxNonces;
        _revocations = revocations;
        _clock = clock;
    }

    /// <summary>Nonces remembered now (for tests and metrics).</summary>
    public int TrackedNonces => _nonces.Count;

    /// <summary>The caller of a call the gate admitted with a passport; null for an anonymous call.</summary>
    public static AuthenticatedCaller? CallerOf(ServerCallContext context) =>
        context.UserState.TryGetValue(CallerKey, out var caller) ? caller as AuthenticatedCaller : null;

    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Admit(request, context);
        return continuation(request, context);
    }

    /// <inheritdoc />
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Admit(request, context);
        return continuation(request, responseStream, context);
    }

    /// <summary>Admits or refuses one call (throws <see cref="RpcException"/> to refuse).</summary>
    public void Admit(object request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var passportBytes = context.RequestHeaders.GetValueBytes(AuthHeaders.Passport);
        var tokenBytes = context.RequestHeaders.GetValueBytes(AuthHeaders.CallToken);
        if (passportBytes is null && tokenBytes is null)
        {
            if (_required)
            {
                throw Unauthenticated($"network '{_access.Network}' requires a passport: send {AuthHeaders.Passport} and a signed {AuthHeaders.CallToken} (memo --as USER, MemoClientOptions.Credentials)");
            }
            return;
        }
        if (passportBytes is null || tokenBytes is null)
        {
            throw Unauthenticated($"a call with credentials needs both {AuthHeaders.Passport} and {AuthHeaders.CallToken}");
        }
        var caller = Authenticate(request, context.Method, passportBytes, tokenBytes);
        var (right, scope) = RequiredRight(context.Method, request);
        if (!caller.Passport.Allows(right, scope))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"the passport of {caller.Passport.UserName} ({caller.Passport.User}) grants {string.Join("; ", caller.Passport.Grants)}, not {PassportRightsText.Format(right)}"
                + (scope.Length > 0 ? $" on '{scope}'" : " on the whole network")));
        }
        if (NodeWouldSign(request, caller) is { } why)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, why));
        }
        context.UserState[CallerKey] = caller;
    }

    private AuthenticatedCaller Authenticate(object request, string method, byte[] passportBytes, byte[] tokenBytes)
    {
        if (!_access.TryVerify(passportBytes, out var passport, out var problem))
        {
            throw Unauthenticated("the passport is not valid: " + problem);
        }
        if (_revocations.IsRevoked(passport.ChainIds))
        {
            throw Unauthenticated($"the passport {passport.Id} (or one that delegated it) is revoked");
        }
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (passport.IsExpiredAt(now))
        {
            throw Unauthenticated($"the passport {passport.Id} expired at {DateTimeOffset.FromUnixTimeMilliseconds(passport.ExpiresUnixMs):u}");
        }
        CallToken token;
        try
        {
            token = CallToken.Parser.ParseFrom(tokenBytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Unauthenticated("the call token does not parse: " + e.Message);
        }
        var windowMs = (long)_window.TotalMilliseconds;
        if (Math.Abs(now - token.IssuedUnixMs) > windowMs)
        {
            throw Unauthenticated($"the call token was signed {(now - token.IssuedUnixMs) / 1000.0:F1} s from this node's clock, beyond the {_window.TotalSeconds:F0} s window (check the client's clock)");
        }
        if (token.Nonce.Length != CallStatement.NonceBytes)
        {
            throw Unauthenticated($"the call token's nonce is not {CallStatement.NonceBytes} bytes");
        }
        if (request is not IMessage message)
        {
            throw Unauthenticated("the call cannot be authenticated");
        }
        var statement = CallStatement.Bytes(method, token.IssuedUnixMs, token.Nonce.Span, CallStatement.SummaryDigest(message));
        if (!_access.VerifyCall(passport.User, statement, token.Signature.Span))
        {
            throw Unauthenticated("the call token's signature does not verify for this call and this passport's user");
        }
        // Only signed tokens reach the table, so nobody without a passport can fill it.
        Remember(UInt128Of(token.Nonce.Span), now, windowMs);
        return new AuthenticatedCaller(passport, passportBytes, tokenBytes);
    }

    private void Remember(UInt128 nonce, long now, long windowMs)
    {
        if (_nonces.Count >= _maxNonces || now >= Volatile.Read(ref _nextSweepMs))
        {
            Volatile.Write(ref _nextSweepMs, now + windowMs);
            foreach (var (seen, until) in _nonces)
            {
                if (until <= now)
                {
                    _nonces.TryRemove(seen, out _);
                }
            }
            if (_nonces.Count >= _maxNonces)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"this node remembers {_maxNonces} call tokens (memo.security.max-tracked-nonces); retry when older ones leave the window"));
            }
        }
        if (!_nonces.TryAdd(nonce, now + 2 * windowMs))
        {
            throw Unauthenticated("the call token was used before (a replay): sign every call afresh");
        }
    }

    // What a call needs: a right, on a key or key prefix ("" for blocks and the whole network).
    private static (PassportRights Right, string Scope) RequiredRight(string method, object request) => request switch
    {
        KvsApi.InsertRequest r => (PassportRights.Write, r.Key),
        KvsApi.UpdateRequest r => (PassportRights.Write, r.Key),
        KvsApi.UpsertRequest r => (PassportRights.Write, r.Key),
        KvsApi.DeleteRequest r => (PassportRights.Write, r.Key),
        KvsApi.FetchRequest r => (PassportRights.Read, r.Key),
        KvsApi.ListVersionsRequest r => (PassportRights.Read, r.Key),
        KvsApi.ListRequest r => (PassportRights.Read, r.Prefix),
        Vs.MakeImmutableBlockRequest or Vs.MakeMutableBlockRequest or Vs.MakeNamedBlockRequest or Vs.NamedBlockAddressRequest => (PassportRights.None, ""),
        Vs.FetchRequest or Vs.ListBlockVersionsRequest => (PassportRights.Read, ""),
        // Any other call of the two services (new ones included) reads by its name, else writes.
        _ => (method[(method.LastIndexOf('/') + 1)..].StartsWith("Fetch", StringComparison.Ordinal)
              || method[(method.LastIndexOf('/') + 1)..].StartsWith("List", StringComparison.Ordinal)
            ? PassportRights.Read : PassportRights.Write, ""),
    };

    // The node signs nothing for an authenticated user: the calls that would have it sign, or own, a block are refused.
    private static string? NodeWouldSign(object request, AuthenticatedCaller caller)
    {
        const string Seal = "the node signs nothing for an authenticated user: make and sign the block client-side (MemoClient with credentials, memo block --as USER)";
        return request switch
        {
            Vs.InsertMutableBlockRequest or Vs.MakeMutableBlockRequest or Vs.MakeNamedBlockRequest => Seal,
            Vs.InsertRequest { Block: { } block } when block.Type != "CHB" && block.Signature.IsEmpty => Seal,
            Vs.UpdateRequest { Block: { } block } when block.Signature.IsEmpty => Seal,
            Vs.DeleteRequest r when r.Signature.IsEmpty => Seal,
            Vs.InsertImmutableBlockRequest r when !caller.Passport.User.Matches(r.Owner.Span) => "an authenticated user's block is owned by the user: set owner to the passport's key",
            Vs.MakeImmutableBlockRequest r when !caller.Passport.User.Matches(r.Owner.Span) => "an authenticated user's block is owned by the user: set owner to the passport's key",
            _ => null,
        };
    }

    private static UInt128 UInt128Of(ReadOnlySpan<byte> nonce) =>
        new(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(nonce), System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(nonce[8..]));

    private static RpcException Unauthenticated(string why) => new(new Status(StatusCode.Unauthenticated, why));
}
