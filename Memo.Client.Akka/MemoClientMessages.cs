using System.Collections.Immutable;
using Akka.Event;
using Memo.Protocol.Blocks;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Protocol.ValueStore;

namespace Memo.Client.Akka;

// The messages of MemoClientActor. Every request is answered by exactly one message: its own reply type below, or a
// MemoFailure. Requests and replies are plain records of .NET and Memo.Protocol types; nothing in them refers to
// Akka remoting or a serializer, because the actor answers only senders in its own ActorSystem.
//
// Buffers are handed over, not copied: a request's value, data or block must not change after it is sent (the actor
// copies it into the gRPC request when it starts the call), and a reply's value or block belongs to its receiver.

/// <summary>A request <see cref="MemoClientActor"/> answers with exactly one <see cref="IMemoReply"/>.</summary>
public interface IMemoRequest
{
    /// <summary>Any value the sender chooses, echoed in the reply so that a sender with many requests in flight can match answers; null for none.</summary>
    object? CorrelationId { get; }
}

/// <summary>An answer of <see cref="MemoClientActor"/>: the request's own reply type, or <see cref="MemoFailure"/>.</summary>
public interface IMemoReply
{
    /// <summary>The <see cref="IMemoRequest.CorrelationId"/> of the request answered.</summary>
    object? CorrelationId { get; }
}

/// <summary>How <see cref="Put"/> treats a key that exists, or one that does not.</summary>
public enum PutMode
{
    /// <summary>Store whether or not the key exists (memo.kvs Upsert).</summary>
    Upsert = 0,

    /// <summary>Store only a new key; an existing key answers <see cref="PutOutcome.AlreadyExists"/> (memo.kvs Insert).</summary>
    Insert = 1,

    /// <summary>Replace only an existing key; a missing key answers <see cref="PutOutcome.NotFound"/> (memo.kvs Update).</summary>
    Update = 2,
}

/// <summary>What a <see cref="Put"/> did.</summary>
public enum PutOutcome
{
    /// <summary>The value is stored under the key.</summary>
    Stored = 0,

    /// <summary>An <see cref="PutMode.Update"/> found no such key; nothing was stored.</summary>
    NotFound = 1,

    /// <summary>An <see cref="PutMode.Insert"/> found the key already there; its value is unchanged.</summary>
    AlreadyExists = 2,
}

// ---- key-value store (memo.kvs) ----

/// <summary>Stores a value under a key. Answered by <see cref="PutReply"/> or <see cref="MemoFailure"/>.</summary>
/// <param name="Key">The key (not empty).</param>
/// <param name="Value">The value; handed over: do not change it after sending.</param>
/// <param name="Mode">Whether the key must be new, must exist, or either.</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
/// <param name="Consistency">When the node answers an upsert (the <c>memo-write-consistency</c> header): at the
/// majority commit, or <see cref="WriteConsistencyLevel.Async"/> once the key shard's leader holds it durably (lost if
/// that leader dies before a majority has it); null: the node's default, <c>memo.kvs.write-consistency</c>. Inserts and
/// updates answer at the majority whatever the level (their outcome is decided at the commit), so
/// <see cref="WriteConsistencyLevel.Async"/> with them is answered <see cref="MemoFailure"/> InvalidArgument.</param>
public sealed record Put(string Key, ReadOnlyMemory<byte> Value, PutMode Mode = PutMode.Upsert, object? CorrelationId = null,
    WriteConsistencyLevel? Consistency = null) : IMemoRequest;

/// <summary>The answer to <see cref="Put"/>: stored, or the expected refusal its mode allows.</summary>
/// <param name="Key">The key of the request.</param>
/// <param name="Outcome">Stored, NotFound (an update of a missing key) or AlreadyExists (an insert of an existing key).</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record PutReply(string Key, PutOutcome Outcome, object? CorrelationId) : IMemoReply;

/// <summary>Reads the value of a key. Answered by <see cref="GetReply"/> or <see cref="MemoFailure"/>.</summary>
/// <param name="Key">The key.</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
public sealed record Get(string Key, object? CorrelationId = null) : IMemoRequest;

/// <summary>The answer to <see cref="Get"/>: the value, or none when the key is missing.</summary>
/// <param name="Key">The key of the request.</param>
/// <param name="Value">The value, owned by the receiver; null when the key is missing (NotFound).</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record GetReply(string Key, ReadOnlyMemory<byte>? Value, object? CorrelationId) : IMemoReply
{
    /// <summary>Whether the key exists.</summary>
    public bool Found => Value.HasValue;
}

/// <summary>Deletes a key. Answered by <see cref="DeleteReply"/> or <see cref="MemoFailure"/>.</summary>
/// <param name="Key">The key.</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
public sealed record Delete(string Key, object? CorrelationId = null) : IMemoRequest;

/// <summary>The answer to <see cref="Delete"/>.</summary>
/// <param name="Key">The key of the request.</param>
/// <param name="Deleted">True when the key was deleted, false when it was already missing (NotFound).</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record DeleteReply(string Key, bool Deleted, object? CorrelationId) : IMemoReply;

/// <summary>
/// Lists one page of keys in key order (memo's List). Answered by <see cref="ListReply"/> or <see cref="MemoFailure"/>.
/// </summary>
/// <param name="Prefix">Only keys that start with this; empty for all.</param>
/// <param name="Marker">Only keys after this one (the last key of the previous page); empty to start at the beginning.</param>
/// <param name="Delimiter">When not empty, keys that contain it after the prefix are rolled up into one common prefix each.</param>
/// <param name="MaxKeys">Largest page; 0 for the node's default page size.</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
public sealed record List(string Prefix = "", string Marker = "", string Delimiter = "", ulong MaxKeys = 0, object? CorrelationId = null) : IMemoRequest;

/// <summary>The answer to <see cref="List"/>: one page.</summary>
/// <param name="Keys">The keys of this page, in order.</param>
/// <param name="CommonPrefixes">With a delimiter, the prefixes that stand for the keys rolled up under them.</param>
/// <param name="Truncated">True when more keys follow: ask again with the last key as the marker.</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record ListReply(ImmutableArray<string> Keys, ImmutableArray<string> CommonPrefixes, bool Truncated, object? CorrelationId) : IMemoReply;

// ---- value store (memo.vs) ----

/// <summary>
/// Stores data as an immutable block owned by the node. Answered by <see cref="InsertImmutableBlockReply"/> or
/// <see cref="MemoFailure"/>.
/// </summary>
/// <param name="Data">The block's content; handed over: do not change it after sending.</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
public sealed record InsertImmutableBlock(ReadOnlyMemory<byte> Data, object? CorrelationId = null) : IMemoRequest;

/// <summary>The answer to <see cref="InsertImmutableBlock"/>.</summary>
/// <param name="Address">The block's address, derived from its content.</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record InsertImmutableBlockReply(BlockAddress Address, object? CorrelationId) : IMemoReply;

/// <summary>
/// Stores data as a new mutable block (version 0) owned by the node. Answered by <see cref="InsertMutableBlockReply"/>
/// or <see cref="MemoFailure"/>.
/// </summary>
/// <param name="Data">The block's first content; handed over: do not change it after sending.</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
public sealed record InsertMutableBlock(ReadOnlyMemory<byte> Data, object? CorrelationId = null) : IMemoRequest;

/// <summary>The answer to <see cref="InsertMutableBlock"/>.</summary>
/// <param name="Address">The new block's address.</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record InsertMutableBlockReply(BlockAddress Address, object? CorrelationId) : IMemoReply;

/// <summary>
/// Reads the block at an address; the block is verified against the address before it is answered (a forged or
/// corrupted block answers <see cref="MemoFailure"/> with DataLoss). Answered by <see cref="FetchBlockReply"/> or
/// <see cref="MemoFailure"/>.
/// </summary>
/// <param name="Address">The block's address.</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
public sealed record FetchBlock(BlockAddress Address, object? CorrelationId = null) : IMemoRequest;

/// <summary>The answer to <see cref="FetchBlock"/>.</summary>
/// <param name="Address">The address of the request.</param>
/// <param name="Block">The verified block, owned by the receiver; null when there is none (NotFound).</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record FetchBlockReply(BlockAddress Address, Block? Block, object? CorrelationId) : IMemoReply
{
    /// <summary>Whether a block is stored at the address.</summary>
    public bool Found => Block is not null;
}

/// <summary>
/// Stores the next version of a mutable block: its version must be the stored one plus one, signed by its owner (or
/// unsigned when the node owns it: the node signs). Answered by <see cref="UpdateBlockReply"/> or
/// <see cref="MemoFailure"/>.
/// </summary>
/// <param name="Block">The new version; handed over: do not change it after sending.</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
public sealed record UpdateBlock(Block Block, object? CorrelationId = null) : IMemoRequest;

/// <summary>The answer to <see cref="UpdateBlock"/>: stored, or a version conflict carrying the block as stored now.</summary>
/// <param name="Address">The block's address.</param>
/// <param name="Result"><see cref="BlockUpdateResult.Updated"/>, or <see cref="BlockUpdateResult.Conflict"/> with the current block when another writer got there first.</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record UpdateBlockReply(BlockAddress Address, BlockUpdateResult Result, object? CorrelationId) : IMemoReply
{
    /// <summary>Whether this version was stored.</summary>
    public bool Updated => ReferenceEquals(Result, BlockUpdateResult.Updated);
}

/// <summary>Removes a block. Answered by <see cref="DeleteBlockReply"/> or <see cref="MemoFailure"/>.</summary>
/// <param name="Address">The block's address.</param>
/// <param name="RemovalSignature">The owner's signature over the removal; empty when the node owns the block (it signs).</param>
/// <param name="CorrelationId">Echoed in the reply.</param>
public sealed record DeleteBlock(BlockAddress Address, ReadOnlyMemory<byte> RemovalSignature = default, object? CorrelationId = null) : IMemoRequest;

/// <summary>The answer to <see cref="DeleteBlock"/>.</summary>
/// <param name="Address">The address of the request.</param>
/// <param name="Deleted">True when the block was removed, false when there was none (NotFound).</param>
/// <param name="CorrelationId">The request's correlation id.</param>
public sealed record DeleteBlockReply(BlockAddress Address, bool Deleted, object? CorrelationId) : IMemoReply;

// ---- failures ----

/// <summary>
/// A request that did not get an answer from the node: the node unreachable (Unavailable), the deadline passed
/// (DeadlineExceeded), the request refused (InvalidArgument, PermissionDenied, ...), a forged block (DataLoss), too
/// many requests in flight at the actor (ResourceExhausted), or the actor stopping with the call open (Cancelled).
/// </summary>
/// <param name="Status">The gRPC status, as <see cref="MemoClient"/> reports it.</param>
/// <param name="Message">What went wrong, for people.</param>
/// <param name="Request">The request that failed, so a sender can retry it without keeping a copy.</param>
public sealed record MemoFailure(GrpcStatusCode Status, string Message, IMemoRequest Request) : IMemoReply
{
    /// <summary>The failed request's correlation id.</summary>
    public object? CorrelationId => Request.CorrelationId;
}

/// <summary>
/// A call of <see cref="MemoClientActor"/> ended; the actor forwards <paramref name="Reply"/> to the waiting sender.
/// Piped to the actor itself (not straight to the sender) so that the actor, which alone owns the count of calls in
/// flight, frees the call's slot before the sender sees the answer. Sent after a stop only when a call outlives the
/// actor, hence no dead-letter logging.
/// </summary>
internal sealed record CallCompleted(long CallId, IMemoReply Reply) : IDeadLetterSuppression;
