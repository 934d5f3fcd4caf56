using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Google.Protobuf;
using Memo.Protocol.Client;
using Memo.Protocol.Grpc;
using Memo.Testing;
using Xunit.Abstractions;

namespace Memo.Client.Akka.Tests;

/// <summary><see cref="MemoClientActor"/> in a test ActorSystem, against a real in-process node.</summary>
public sealed class MemoClientActorTests : global::Akka.TestKit.Xunit2.TestKit, IClassFixture<NodeFixture>
{
    // Generous: calls go through a real node (Raft, SQLite) on a small machine shared with other builds.
    private static readonly TimeSpan Reply = TimeSpan.FromSeconds(20);

    private readonly NodeFixture _node;
    private readonly string _prefix = "akka-" + Guid.NewGuid().ToString("n")[..8] + "/";

    public MemoClientActorTests(NodeFixture node, ITestOutputHelper output)
        : base(output: output)
    {
        _node = node;
    }

    private IActorRef Client(MemoClientActorSettings? settings = null) =>
        Sys.ActorOf(MemoClientActor.Props(settings ?? new MemoClientActorSettings(_node.Address)));

    private string K(string name) => _prefix + name;

    private static byte[] V(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte>? value) => Encoding.UTF8.GetString(value!.Value.Span);

    [Fact]
    public async Task Put_get_and_list_round_trip_through_a_real_node()
    {
        var client = Client();
        var probe = CreateTestProbe();

        client.Tell(new Put(K("a"), V("1")), probe);
        client.Tell(new Put(K("b"), V("2")), probe);
        client.Tell(new Put(K("c/d"), V("3")), probe);
        for (var i = 0; i < 3; i++)
        {
            var put = await probe.ExpectMsgAsync<PutReply>(Reply, $"the reply to put {i + 1} of 3");
            Assert.Equal(PutOutcome.Stored, put.Outcome);
        }

        client.Tell(new Get(K("b")), probe);
        var get = await probe.ExpectMsgAsync<GetReply>(Reply, "the reply to get b");
        Assert.True(get.Found);
        Assert.Equal("2", Text(get.Value));

        client.Tell(new List(_prefix), probe);
        var all = await probe.ExpectMsgAsync<ListReply>(Reply, "the listing of every key under the prefix");
        Assert.Equal(new[] { K("a"), K("b"), K("c/d") }, all.Keys);
        Assert.False(all.Truncated);

        client.Tell(new List(_prefix, Delimiter: "/"), probe);
        var rolled = await probe.ExpectMsgAsync<ListReply>(Reply, "the listing with delimiter /");
        Assert.Equal(new[] { K("a"), K("b") }, rolled.Keys);
        Assert.Equal(new[] { K("c/") }, rolled.CommonPrefixes);

        client.Tell(new List(_prefix, Marker: K("a"), MaxKeys: 1), probe);
        var page = await probe.ExpectMsgAsync<ListReply>(Reply, "a one-key page after a");
        Assert.Equal(new[] { K("b") }, page.Keys);
        Assert.True(page.Truncated);
    }

    [Fact]
    public async Task A_put_with_a_write_consistency_sends_the_level_header_and_round_trips()
    {
        var headers = new HeaderRecorder { InnerHandler = new SocketsHttpHandler { UseProxy = false } };
        var client = Client(new MemoClientActorSettings(_node.Address)
        {
            Channel = new MemoChannelOptions { HttpMessageHandler = headers, DisposeHttpMessageHandler = true },
        });

        client.Tell(new Put(K("async"), V("early"), Consistency: WriteConsistencyLevel.Async, CorrelationId: "a"), TestActor);
        var asyncPut = await ExpectMsgAsync<PutReply>(Reply, "the reply to an async upsert");
        Assert.Equal((PutOutcome.Stored, "a"), (asyncPut.Outcome, asyncPut.CorrelationId));
        client.Tell(new Put(K("majority"), V("committed"), Consistency: WriteConsistencyLevel.Majority), TestActor);
        Assert.Equal(PutOutcome.Stored, (await ExpectMsgAsync<PutReply>(Reply, "the reply to a majority upsert")).Outcome);
        client.Tell(new Put(K("default"), V("plain")), TestActor);
        Assert.Equal(PutOutcome.Stored, (await ExpectMsgAsync<PutReply>(Reply, "the reply to an upsert at the node's default")).Outcome);
        Assert.Equal(["async", "majority", null], headers.WriteConsistencies);

        // An async write is committed behind its answer: a read sees it once it is.
        await AwaitAssertAsync(async () =>
        {
            client.Tell(new Get(K("async")), TestActor);
            Assert.Equal("early", Text((await ExpectMsgAsync<GetReply>(Reply, "the reply to a get of the async key")).Value));
        }, Reply);
        client.Tell(new Get(K("majority")), TestActor);
        Assert.Equal("committed", Text((await ExpectMsgAsync<GetReply>(Reply, "the reply to a get of the majority key")).Value));

        // Inserts answer at the commit whatever the level: async with one is refused before any call.
        client.Tell(new Put(K("async-insert"), V("x"), PutMode.Insert, Consistency: WriteConsistencyLevel.Async), TestActor);
        var refused = await ExpectMsgAsync<MemoFailure>(Reply, "the failure of an async insert");
        Assert.Equal(GrpcStatusCode.InvalidArgument, refused.Status);
        Assert.Contains("upserts only", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, headers.WriteConsistencies.Count);
    }

    // Records the memo-write-consistency header of every upsert sent (null when absent).
    private sealed class HeaderRecorder : DelegatingHandler
    {
        public List<string?> WriteConsistencies { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri?.AbsolutePath.EndsWith("/Upsert", StringComparison.Ordinal) == true)
            {
                lock (WriteConsistencies)
                {
                    WriteConsistencies.Add(request.Headers.TryGetValues(WriteConsistencyLevels.HeaderName, out var values) ? values.Single() : null);
                }
            }
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task An_update_of_a_missing_key_answers_not_found_and_stores_nothing()
    {
        var client = Client();
        client.Tell(new Put(K("missing"), V("x"), PutMode.Update), TestActor);
        var update = await ExpectMsgAsync<PutReply>(Reply, "the reply to an update of a missing key");
        Assert.Equal(PutOutcome.NotFound, update.Outcome);

        client.Tell(new Get(K("missing")), TestActor);
        var get = await ExpectMsgAsync<GetReply>(Reply, "the reply to a get of the still-missing key");
        Assert.False(get.Found);
    }

    [Fact]
    public async Task An_insert_of_an_existing_key_answers_already_exists_and_keeps_the_first_value()
    {
        var client = Client();
        client.Tell(new Put(K("once"), V("first"), PutMode.Insert), TestActor);
        Assert.Equal(PutOutcome.Stored, (await ExpectMsgAsync<PutReply>(Reply, "the reply to the first insert")).Outcome);
        client.Tell(new Put(K("once"), V("second"), PutMode.Insert), TestActor);
        Assert.Equal(PutOutcome.AlreadyExists, (await ExpectMsgAsync<PutReply>(Reply, "the reply to the second insert")).Outcome);
        client.Tell(new Put(K("once"), V("third"), PutMode.Update), TestActor);
        Assert.Equal(PutOutcome.Stored, (await ExpectMsgAsync<PutReply>(Reply, "the reply to an update of the existing key")).Outcome);

        client.Tell(new Get(K("once")), TestActor);
        Assert.Equal("third", Text((await ExpectMsgAsync<GetReply>(Reply, "the reply to get once")).Value));
    }

    [Fact]
    public async Task A_delete_removes_the_key_and_a_second_delete_answers_not_found()
    {
        var client = Client();
        client.Tell(new Put(K("gone"), V("x")), TestActor);
        await ExpectMsgAsync<PutReply>(Reply, "the reply to the put");

        client.Tell(new Delete(K("gone")), TestActor);
        Assert.True((await ExpectMsgAsync<DeleteReply>(Reply, "the reply to the first delete")).Deleted);
        client.Tell(new Delete(K("gone")), TestActor);
        Assert.False((await ExpectMsgAsync<DeleteReply>(Reply, "the reply to the second delete")).Deleted);
        client.Tell(new Get(K("gone")), TestActor);
        Assert.False((await ExpectMsgAsync<GetReply>(Reply, "the reply to a get of the deleted key")).Found);
    }

    [Fact]
    public async Task Blocks_insert_fetch_update_and_a_stale_update_answers_a_conflict_with_the_current_block()
    {
        var client = Client();

        client.Tell(new InsertImmutableBlock(V("immutable")), TestActor);
        var chb = (await ExpectMsgAsync<InsertImmutableBlockReply>(Reply, "the address of the immutable block")).Address;
        Assert.True(chb.IsImmutable);
        client.Tell(new FetchBlock(chb), TestActor);
        Assert.Equal("immutable", (await ExpectMsgAsync<FetchBlockReply>(Reply, "the immutable block")).Block!.Data.ToStringUtf8());

        client.Tell(new InsertMutableBlock(V("v0")), TestActor);
        var okb = (await ExpectMsgAsync<InsertMutableBlockReply>(Reply, "the address of the mutable block")).Address;
        Assert.False(okb.IsImmutable);
        client.Tell(new FetchBlock(okb), TestActor);
        var v0 = (await ExpectMsgAsync<FetchBlockReply>(Reply, "version 0 of the mutable block")).Block!;
        Assert.Equal(0, v0.Version);

        client.Tell(new UpdateBlock(NextVersion(v0, "v1")), TestActor);
        var updated = await ExpectMsgAsync<UpdateBlockReply>(Reply, "the reply to the update to version 1");
        Assert.True(updated.Updated);
        Assert.Equal(okb, updated.Address);

        // A second writer that also started from version 0 loses, and learns what is stored now.
        client.Tell(new UpdateBlock(NextVersion(v0, "late")), TestActor);
        var stale = await ExpectMsgAsync<UpdateBlockReply>(Reply, "the reply to the stale update");
        var conflict = Assert.IsType<BlockUpdateResult.Conflict>(stale.Result);
        Assert.Equal(1, conflict.Current.Version);
        Assert.Equal("v1", conflict.Current.Data.ToStringUtf8());

        client.Tell(new DeleteBlock(okb), TestActor);
        Assert.True((await ExpectMsgAsync<DeleteBlockReply>(Reply, "the reply to the block delete")).Deleted);
        client.Tell(new FetchBlock(okb), TestActor);
        Assert.False((await ExpectMsgAsync<FetchBlockReply>(Reply, "the reply to a fetch of the deleted block")).Found);
        client.Tell(new DeleteBlock(okb), TestActor);
        Assert.False((await ExpectMsgAsync<DeleteBlockReply>(Reply, "the reply to a second block delete")).Deleted);
    }

    [Fact]
    public async Task Many_requests_in_flight_from_one_probe_are_matched_by_correlation_id()
    {
        const int count = 64;
        var client = Client();
        var probe = CreateTestProbe();
        for (var i = 0; i < count; i++)
        {
            client.Tell(new Put(K($"many/{i}"), V($"value {i}"), CorrelationId: i), probe);
        }
        var stored = new HashSet<int>();
        for (var i = 0; i < count; i++)
        {
            var reply = await probe.ExpectMsgAsync<PutReply>(Reply, $"put reply {i + 1} of {count}");
            var id = (int)reply.CorrelationId!;
            Assert.Equal(K($"many/{id}"), reply.Key);
            Assert.Equal(PutOutcome.Stored, reply.Outcome);
            Assert.True(stored.Add(id), $"correlation id {id} answered twice");
        }

        // Gets under ids that are not the key's index: only the correlation id ties a value to its request.
        for (var i = 0; i < count; i++)
        {
            client.Tell(new Get(K($"many/{i}"), CorrelationId: $"get-{count - 1 - i}"), probe);
        }
        var answered = new HashSet<string>();
        for (var i = 0; i < count; i++)
        {
            var reply = await probe.ExpectMsgAsync<GetReply>(Reply, $"get reply {i + 1} of {count}");
            var id = (string)reply.CorrelationId!;
            var index = count - 1 - int.Parse(id["get-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal($"value {index}", Text(reply.Value));
            Assert.True(answered.Add(id), $"correlation id {id} answered twice");
        }
    }

    [Fact]
    public async Task A_node_that_is_not_there_answers_unavailable_and_the_same_actor_works_once_the_node_is_up()
    {
        var port = FreePort();
        var client = Client(new MemoClientActorSettings($"127.0.0.1:{port}"));

        client.Tell(new Put(K("early"), V("x"), CorrelationId: "early"), TestActor);
        var failure = await ExpectMsgAsync<MemoFailure>(Reply, "the failure of a put to a port nothing listens on");
        Assert.Equal(GrpcStatusCode.Unavailable, failure.Status);
        Assert.Equal("early", failure.CorrelationId);
        Assert.IsType<Put>(failure.Request);

        await using var node = await TestNode.StartAsync([$"memo.node.listen = \"127.0.0.1:{port}\"", "memo.shards.count = 4"]);
        client.Tell(new Put(K("late"), V("y")), TestActor);
        Assert.Equal(PutOutcome.Stored, (await ExpectMsgAsync<PutReply>(Reply, "the reply to a put once the node listens")).Outcome);
        client.Tell(new Get(K("late")), TestActor);
        Assert.Equal("y", Text((await ExpectMsgAsync<GetReply>(Reply, "the value stored once the node listens")).Value));
    }

    [Fact]
    public async Task A_request_the_node_refuses_answers_its_status_and_the_actor_keeps_serving()
    {
        var client = Client();
        client.Tell(new Put("", V("x"), CorrelationId: 7), TestActor);
        var failure = await ExpectMsgAsync<MemoFailure>(Reply, "the failure of a put with an empty key");
        Assert.Equal(GrpcStatusCode.InvalidArgument, failure.Status);
        Assert.Equal(7, failure.CorrelationId);

        client.Tell(new Put(K("after"), V("ok")), TestActor);
        Assert.Equal(PutOutcome.Stored, (await ExpectMsgAsync<PutReply>(Reply, "the reply to a valid put after the refused one")).Outcome);
    }

    [Fact]
    public async Task Requests_beyond_the_in_flight_bound_answer_resource_exhausted_until_a_call_completes()
    {
        var gate = new GatedHandler();
        var client = Client(Gated(gate) with { MaxInFlight = 2 });
        var probe = CreateTestProbe();

        client.Tell(new Put(K("bound/1"), V("1"), CorrelationId: 1), probe);
        client.Tell(new Put(K("bound/2"), V("2"), CorrelationId: 2), probe);
        client.Tell(new Put(K("bound/3"), V("3"), CorrelationId: 3), probe);
        var refused = await probe.ExpectMsgAsync<MemoFailure>(Reply, "the refusal of the third put while two are held open");
        Assert.Equal(GrpcStatusCode.ResourceExhausted, refused.Status);
        Assert.Equal(3, refused.CorrelationId);

        gate.Open();
        var done = new HashSet<object?>();
        for (var i = 0; i < 2; i++)
        {
            var reply = await probe.ExpectMsgAsync<PutReply>(Reply, $"held put {i + 1} of 2 once the gate opens");
            Assert.Equal(PutOutcome.Stored, reply.Outcome);
            done.Add(reply.CorrelationId);
        }
        Assert.Equal([1, 2], done.Cast<int>().Order());

        // Both slots are free again: the refused request can be sent again and succeeds.
        client.Tell(refused.Request, probe);
        Assert.Equal(PutOutcome.Stored, (await probe.ExpectMsgAsync<PutReply>(Reply, "the retried third put")).Outcome);
    }

    [Fact]
    public async Task A_call_past_its_deadline_answers_deadline_exceeded()
    {
        var gate = new GatedHandler();
        var client = Client(Gated(gate) with { Timeout = TimeSpan.FromMilliseconds(300) });
        client.Tell(new Get(K("slow")), TestActor);
        var failure = await ExpectMsgAsync<MemoFailure>(Reply, "the failure of a get held past its 300 ms deadline");
        Assert.Equal(GrpcStatusCode.DeadlineExceeded, failure.Status);
    }

    [Fact]
    public async Task A_stopping_actor_answers_its_open_calls_with_cancelled()
    {
        var gate = new GatedHandler();
        var client = Client(Gated(gate));
        var probe = CreateTestProbe();
        client.Tell(new Get(K("held"), CorrelationId: "held"), probe);
        await gate.CallArrivedAsync(Reply);

        Watch(client);
        Sys.Stop(client);
        var failure = await probe.ExpectMsgAsync<MemoFailure>(Reply, "the cancellation of the call open when the actor stopped");
        Assert.Equal(GrpcStatusCode.Cancelled, failure.Status);
        Assert.Equal("held", failure.CorrelationId);
        await ExpectTerminatedAsync(client, Reply);
    }

    [Fact]
    public async Task An_app_actor_keeps_notes_through_the_client_actor()
    {
        var keeper = Sys.ActorOf(NoteKeeper.Props(Client()));
        var alice = CreateTestProbe();
        var bob = CreateTestProbe();

        keeper.Tell(new Remember(_prefix + "alice", "buy milk"), alice);
        keeper.Tell(new Remember(_prefix + "bob", "call home"), bob);
        await alice.ExpectMsgAsync(new Remembered(_prefix + "alice"), Reply, "alice's note stored");
        await bob.ExpectMsgAsync(new Remembered(_prefix + "bob"), Reply, "bob's note stored");

        keeper.Tell(new Recall(_prefix + "bob"), alice);
        keeper.Tell(new Recall(_prefix + "nobody"), bob);
        await alice.ExpectMsgAsync(new Recalled(_prefix + "bob", "call home"), Reply, "bob's note recalled for alice");
        await bob.ExpectMsgAsync(new Recalled(_prefix + "nobody", null), Reply, "no note under an unknown name");
    }

    [Fact]
    public void Invalid_settings_are_refused_with_every_problem_listed()
    {
        var settings = new MemoClientActorSettings("not a target")
        {
            Timeout = TimeSpan.FromSeconds(-1),
            MaxInFlight = 0,
            Channel = new MemoChannelOptions { MaxSendMessageSize = 0 },
        };
        var e = Assert.Throws<ArgumentException>(() => MemoClientActor.Props(settings));
        Assert.Contains("not a target", e.Message, StringComparison.Ordinal);
        Assert.Contains("Timeout", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaxInFlight", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaxSendMessageSize", e.Message, StringComparison.Ordinal);
        Assert.Empty(new MemoClientActorSettings("127.0.0.1:5090").Validate());
    }

    [Fact]
    public async Task A_CA_file_makes_the_actor_speak_TLS_and_a_cleartext_node_answers_it_with_a_failure()
    {
        Assert.Contains("does not exist", Assert.Single(new MemoClientActorSettings("127.0.0.1:5090") { CaCertificateFile = "/nonexistent/ca.crt" }.Validate()),
            StringComparison.Ordinal);
        var folder = Path.Combine(Path.GetTempPath(), "memo-actor-ca-" + Guid.NewGuid().ToString("n"));
        try
        {
            using (var authority = Memo.Protocol.Security.NetworkAuthority.Create("memo", TimeSpan.FromDays(1)))
            {
                authority.Save(folder);
            }
            // The fixture's node serves cleartext: a TLS client cannot even start a call there.
            var client = Client(new MemoClientActorSettings(_node.Address) { CaCertificateFile = Path.Combine(folder, "ca.crt"), Timeout = TimeSpan.FromSeconds(10) });
            client.Tell(new Get(_prefix + "tls"), TestActor);
            var failure = await ExpectMsgAsync<MemoFailure>(TimeSpan.FromSeconds(15), "a failure from a TLS client at a cleartext port");
            Assert.NotEqual(Memo.Protocol.Grpc.GrpcStatusCode.OK, failure.Status);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private MemoClientActorSettings Gated(GatedHandler gate) => new(_node.Address)
    {
        Channel = new MemoChannelOptions { HttpMessageHandler = gate, DisposeHttpMessageHandler = true },
    };

    private static Memo.Protocol.ValueStore.Block NextVersion(Memo.Protocol.ValueStore.Block current, string data)
    {
        var next = current.Clone();
        next.Version = current.Version + 1;
        next.Data = ByteString.CopyFromUtf8(data);
        next.Signature = ByteString.Empty; // the node signs the blocks it owns
        return next;
    }

    // A port nothing listens on: bound by the OS and released at once.
    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
