using System.Text;
using Memo.Node.Kvs;
using Memo.Node.Routing;
using Memo.Node.Shards;
using Memo.Node.Shards.Wire;
using Memo.Node.Storage;
using Memo.Protocol.Blocks;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Kvs;

public sealed class KeyValueStoreTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly MemorySilo _silo = new();
    private readonly MemoKeyPair _nodeKey = MemoKeyPair.Generate();
    private SerialShardGateway _router = null!;
    private KeyValueStore _store = null!;

    public Task InitializeAsync()
    {
        _router = new SerialShardGateway(new ShardLayout(8), _silo);
        _store = new KeyValueStore(_router, _nodeKey, new KvsLimits(64, 1 << 20, 500, 100), NullLogger<KeyValueStore>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        await _silo.DisposeAsync();
        _nodeKey.Dispose();
    }

    private static byte[] V(string s) => Encoding.UTF8.GetBytes(s);

    private async Task<string?> GetAsync(string key)
    {
        var result = await _store.FetchAsync(key);
        return result.Status == KvStatus.Ok ? Encoding.UTF8.GetString(result.Value!) : null;
    }

    // The number of blocks stored: value blocks must not leak when keys are overwritten or deleted.
    private async Task<int> BlockCountAsync()
    {
        await _router.DisposeAsync(); // waits for queued reclaims
        var count = 0;
        var keys = await _silo.ScanEntriesAsync("", null, int.MaxValue);
        foreach (var entry in keys)
        {
            var parsed = KvEntry.Parser.ParseFrom(entry.Value);
            Assert.NotNull(await _silo.ReadBlockAsync(BlockAddress.FromBytes(parsed.ValueAddress.Span)));
            count++;
        }
        return count;
    }

    [Fact]
    public async Task Insert_update_upsert_fetch_delete_follow_memo_semantics()
    {
        Assert.Equal(KvStatus.Ok, (await _store.WriteAsync("a", V("1"), WriteMode.Insert)).Status);
        Assert.Equal(KvStatus.AlreadyExists, (await _store.WriteAsync("a", V("2"), WriteMode.Insert)).Status);
        Assert.Equal("1", await GetAsync("a"));
        Assert.Equal(KvStatus.NotFound, (await _store.WriteAsync("b", V("2"), WriteMode.Update)).Status);
        Assert.Equal(KvStatus.Ok, (await _store.WriteAsync("a", V("3"), WriteMode.Update)).Status);
        Assert.Equal("3", await GetAsync("a"));
        Assert.Equal(KvStatus.Ok, (await _store.WriteAsync("b", V("4"), WriteMode.Upsert)).Status);
        Assert.Equal(KvStatus.Ok, (await _store.WriteAsync("b", V("5"), WriteMode.Upsert)).Status);
        Assert.Equal("5", await GetAsync("b"));
        Assert.Equal(KvStatus.Ok, (await _store.DeleteAsync("a")).Status);
        Assert.Equal(KvStatus.NotFound, (await _store.FetchAsync("a")).Status);
        Assert.Equal(KvStatus.NotFound, (await _store.DeleteAsync("a")).Status);
    }

    [Fact]
    public async Task Empty_oversized_and_invalid_keys_and_oversized_values_are_invalid_arguments()
    {
        Assert.Equal(KvStatus.InvalidArgument, (await _store.WriteAsync("", V("x"), WriteMode.Upsert)).Status);
        Assert.Equal(KvStatus.InvalidArgument, (await _store.WriteAsync(new string('k', 65), V("x"), WriteMode.Upsert)).Status);
        Assert.Equal(KvStatus.InvalidArgument, (await _store.WriteAsync("bad\uD800", V("x"), WriteMode.Upsert)).Status);
        Assert.Equal(KvStatus.InvalidArgument, (await _store.WriteAsync("k", new byte[(1 << 20) + 1], WriteMode.Upsert)).Status);
        Assert.Equal(KvStatus.InvalidArgument, (await _store.FetchAsync("")).Status);
        Assert.Equal(KvStatus.InvalidArgument, (await _store.DeleteAsync("")).Status);
    }

    [Fact]
    public async Task Overwritten_and_deleted_values_leave_no_block_behind()
    {
        for (var i = 0; i < 20; i++)
        {
            await _store.WriteAsync("k" + (i % 5), V("v" + i), WriteMode.Upsert);
        }
        await _store.DeleteAsync("k0");
        Assert.Equal(KvStatus.AlreadyExists, (await _store.WriteAsync("k1", V("lost"), WriteMode.Insert)).Status);
        Assert.Equal(KvStatus.NotFound, (await _store.WriteAsync("zz", V("lost"), WriteMode.Update)).Status);
        Assert.Equal(4, await BlockCountAsync());
        Assert.Equal(4, _silo.BlockCount);
        Assert.Empty(_router.RefusedReclaims); // every reclaim carried the key its entry held
    }

    // A store that keeps 3 versions of each key, with values over 100 bytes in blocks of their own.
    private KeyValueStore VersionedStore() =>
        new(_router, _nodeKey, new KvsLimits(64, 1 << 20, 500, 100, InlineValueBytes: 100, KeepVersions: 3), NullLogger<KeyValueStore>.Instance);

    // Odd versions are large (their own block), even ones small (inline in the entry).
    private static byte[] VersionValue(int version) => V(version % 2 == 1 ? $"large {version} " + new string('L', 120) : $"small {version}");

    [Fact]
    public async Task The_last_N_versions_are_fetchable_and_older_ones_are_not_found_and_their_blocks_reclaimed()
    {
        var store = VersionedStore();
        for (var v = 1; v <= 7; v++)
        {
            Assert.Equal(KvStatus.Ok, (await store.WriteAsync("k", VersionValue(v), WriteMode.Upsert)).Status);
            var kept = Enumerable.Range(Math.Max(1, v - 2), Math.Min(v, 3)).Reverse().Select(x => (ulong)x).ToList();
            var listed = await store.ListVersionsAsync("k");
            Assert.Equal(KvStatus.Ok, listed.Status);
            Assert.Equal(kept, listed.Versions);
            foreach (var version in kept)
            {
                var fetched = await store.FetchAsync("k", version);
                Assert.Equal(KvStatus.Ok, fetched.Status);
                Assert.Equal(VersionValue((int)version), fetched.Value);
                Assert.Equal(version, fetched.Version);
            }
            var current = await store.FetchAsync("k");
            Assert.Equal((ulong)v, current.Version);
            Assert.Equal(VersionValue(v), current.Value);
        }

        var pruned = await store.FetchAsync("k", 4);
        Assert.Equal(KvStatus.NotFound, pruned.Status);
        Assert.Equal("Version 4 of key 'k' is not kept; the kept versions are 7, 6, 5.", pruned.Message);
        Assert.Equal(KvStatus.NotFound, (await store.FetchAsync("k", 8)).Status);
        Assert.Equal(KvStatus.NotFound, (await store.ListVersionsAsync("missing")).Status);
        Assert.Equal(KvStatus.InvalidArgument, (await store.ListVersionsAsync("")).Status);

        // Versions 1 and 3 were large and pruned: their blocks are gone; 5 and 7 (kept) still have theirs.
        await _router.DisposeAsync();
        Assert.Equal(2, _silo.BlockCount);
        Assert.Empty(_router.RefusedReclaims);
    }

    [Fact]
    public async Task A_delete_removes_the_key_with_every_kept_version_and_their_blocks()
    {
        var store = VersionedStore();
        for (var v = 1; v <= 3; v++)
        {
            await store.WriteAsync("k", VersionValue(v), WriteMode.Upsert);
        }
        Assert.Equal(KvStatus.Ok, (await store.DeleteAsync("k")).Status);
        Assert.Equal(KvStatus.NotFound, (await store.ListVersionsAsync("k")).Status);
        Assert.Equal(KvStatus.NotFound, (await store.FetchAsync("k", 2)).Status);

        // Written again, the key starts over at version 1 with no history.
        await store.WriteAsync("k", V("again"), WriteMode.Insert);
        Assert.Equal([1UL], (await store.ListVersionsAsync("k")).Versions);
        await _router.DisposeAsync();
        Assert.Equal(0, _silo.BlockCount);
        Assert.Empty(_router.RefusedReclaims);
    }

    [Fact]
    public async Task With_one_version_kept_an_entry_holds_no_history_and_the_previous_version_is_not_found()
    {
        await _store.WriteAsync("k", V("one"), WriteMode.Upsert);
        await _store.WriteAsync("k", V("two"), WriteMode.Upsert);
        Assert.Empty(KvEntry.Parser.ParseFrom((await _silo.ReadEntryAsync("k"))!).OlderVersions);
        Assert.Equal([2UL], (await _store.ListVersionsAsync("k")).Versions);
        Assert.Equal(KvStatus.NotFound, (await _store.FetchAsync("k", 1)).Status);
        Assert.Equal("two", Encoding.UTF8.GetString((await _store.FetchAsync("k", 2)).Value!));
    }

    [Fact]
    public async Task A_key_whose_value_block_is_missing_is_a_failed_precondition_not_corruption()
    {
        await _store.WriteAsync("k", V("large enough to have its own block"), WriteMode.Upsert);
        var entry = KvEntry.Parser.ParseFrom((await _silo.ReadEntryAsync("k"))!);
        Assert.Null(entry.ValueBlock);
        await _silo.CommitAsync(new SiloBatch().DeleteBlock(BlockAddress.FromBytes(entry.ValueAddress.Span)));

        var fetched = await _store.FetchAsync("k");
        Assert.Equal(KvStatus.FailedPrecondition, fetched.Status);
        Assert.Contains(Convert.ToHexStringLower(entry.ValueAddress.Span), fetched.Message, StringComparison.Ordinal);

        // The key exists (insert says so) and overwriting it repairs it.
        Assert.Equal(KvStatus.AlreadyExists, (await _store.WriteAsync("k", V("x"), WriteMode.Insert)).Status);
        Assert.Equal(KvStatus.Ok, (await _store.WriteAsync("k", V("repaired"), WriteMode.Upsert)).Status);
        Assert.Equal("repaired", await GetAsync("k"));
    }

    [Fact]
    public async Task Small_values_keep_their_block_in_the_entry_and_large_ones_get_a_block_of_their_own()
    {
        var store = new KeyValueStore(_router, _nodeKey, new KvsLimits(64, 1 << 20, 500, 100, InlineValueBytes: 100), NullLogger<KeyValueStore>.Instance);
        var large = new string('L', 101);
        Assert.Equal(KvStatus.Ok, (await store.WriteAsync("small", V("s1"), WriteMode.Insert)).Status);
        Assert.Equal(KvStatus.Ok, (await store.WriteAsync("large", V(large), WriteMode.Insert)).Status);
        Assert.Equal(KvStatus.AlreadyExists, (await store.WriteAsync("small", V("s2"), WriteMode.Insert)).Status);
        Assert.Equal(KvStatus.Ok, (await store.WriteAsync("small", V("s3"), WriteMode.Update)).Status);
        Assert.Equal("s3", Encoding.UTF8.GetString((await store.FetchAsync("small")).Value!));
        Assert.Equal(large, Encoding.UTF8.GetString((await store.FetchAsync("large")).Value!));

        // The small value's block is sealed and checked like any block, but lives in the entry.
        var entry = KvEntry.Parser.ParseFrom((await _silo.ReadEntryAsync("small"))!);
        Assert.NotNull(entry.ValueBlock);
        Assert.True(BlockValidator.ValidateAt(entry.ValueBlock, BlockAddress.FromBytes(entry.ValueAddress.Span)).IsValid);

        // Turning a large value small reclaims its block; deleting a small one has nothing to reclaim.
        Assert.Equal(KvStatus.Ok, (await store.WriteAsync("large", V("now small"), WriteMode.Upsert)).Status);
        Assert.Equal(KvStatus.Ok, (await store.DeleteAsync("small")).Status);
        await _router.DisposeAsync();
        Assert.Equal(0, _silo.BlockCount);
        Assert.Equal("now small", Encoding.UTF8.GetString(((await _silo.ReadEntryAsync("large")) is { } e ? KvEntry.Parser.ParseFrom(e).ValueBlock.Data.ToByteArray() : [])));
    }

    [Fact]
    public async Task A_corrupted_block_kept_in_an_entry_is_reported_not_returned()
    {
        var store = new KeyValueStore(_router, _nodeKey, new KvsLimits(64, 1 << 20, 500, 100, InlineValueBytes: 100), NullLogger<KeyValueStore>.Instance);
        await store.WriteAsync("k", V("good"), WriteMode.Upsert);
        var entry = KvEntry.Parser.ParseFrom((await _silo.ReadEntryAsync("k"))!);
        entry.ValueBlock.Data = Google.Protobuf.ByteString.CopyFromUtf8("evil");
        await _silo.CommitAsync(new SiloBatch().PutEntry(new ShardId(0), "k", Google.Protobuf.MessageExtensions.ToByteArray(entry)));
        await Assert.ThrowsAsync<StorageCorruptionException>(() => store.FetchAsync("k"));
    }

    [Fact]
    public async Task Concurrent_inserts_of_one_key_admit_exactly_one_and_concurrent_upserts_leave_one_value()
    {
        var inserts = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => _store.WriteAsync("race", V("v" + i), WriteMode.Insert)));
        Assert.Equal(1, inserts.Count(o => o.Status == KvStatus.Ok));
        Assert.Equal(31, inserts.Count(o => o.Status == KvStatus.AlreadyExists));

        var values = Enumerable.Range(0, 64).Select(i => (string?)("u" + i)).ToHashSet();
        await Task.WhenAll(values.Select(v => _store.WriteAsync("race2", V(v!), WriteMode.Upsert)));
        Assert.Contains(await GetAsync("race2"), values);
        Assert.Equal(2, await BlockCountAsync());
        Assert.Equal(2, _silo.BlockCount);
    }

    [Fact]
    public async Task Listing_matches_a_naive_model_for_random_prefixes_markers_delimiters_and_page_sizes()
    {
        var seed = Environment.GetEnvironmentVariable("MEMO_TEST_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine($"seed {seed} (MEMO_TEST_SEED={seed} replays)");
        var random = new Random(seed);
        var alphabet = "ab/c";
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        while (keys.Count < 300)
        {
            keys.Add(new string(Enumerable.Range(0, random.Next(1, 7)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()));
        }
        await Task.WhenAll(keys.Select(k => _store.WriteAsync(k, V(k), WriteMode.Upsert)));

        for (var round = 0; round < 400; round++)
        {
            var prefix = round % 3 == 0 ? "" : new string(Enumerable.Range(0, random.Next(0, 3)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var delimiter = random.Next(3) == 0 ? "" : random.Next(2) == 0 ? "/" : "b/";
            var marker = random.Next(3) == 0 ? "" : keys.ElementAt(random.Next(keys.Count)) + (random.Next(4) == 0 ? "/" : "");
            var maxKeys = (ulong)random.Next(0, 40);
            var actual = await _store.ListAsync(prefix, marker, delimiter, maxKeys);
            var expected = NaiveList(keys, prefix, marker, delimiter, maxKeys == 0 ? 100 : (int)maxKeys);
            var context = $"round {round}: prefix '{prefix}' marker '{marker}' delimiter '{delimiter}' maxKeys {maxKeys}";
            Assert.True(expected.Keys.SequenceEqual(actual.Keys), $"{context}: keys {string.Join(",", actual.Keys)} expected {string.Join(",", expected.Keys)}");
            Assert.True(expected.Prefixes.SequenceEqual(actual.Prefixes), $"{context}: prefixes {string.Join(",", actual.Prefixes)} expected {string.Join(",", expected.Prefixes)}");
            Assert.True(expected.Truncated == actual.Truncated, $"{context}: truncated {actual.Truncated} expected {expected.Truncated}");
        }
    }

    [Fact]
    public async Task Paging_with_the_last_key_or_prefix_as_marker_visits_everything_once()
    {
        var keys = Enumerable.Range(0, 250).Select(i => $"dir{i % 7}/file{i:D3}").Concat(Enumerable.Range(0, 30).Select(i => $"top{i:D2}")).ToList();
        await Task.WhenAll(keys.Select(k => _store.WriteAsync(k, V(k), WriteMode.Upsert)));

        var seen = new List<string>();
        var marker = "";
        while (true)
        {
            var page = await _store.ListAsync("", marker, "/", 4);
            var elements = page.Keys.Concat(page.Prefixes).Order(StringComparer.Ordinal).ToList();
            seen.AddRange(elements);
            if (!page.Truncated)
            {
                break;
            }
            marker = elements[^1];
        }
        var expected = Enumerable.Range(0, 7).Select(i => $"dir{i}/").Concat(Enumerable.Range(0, 30).Select(i => $"top{i:D2}")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task A_listing_that_spends_its_work_budget_returns_a_truncated_page_whose_next_marker_continues_it()
    {
        var store = new KeyValueStore(_router, _nodeKey, new KvsLimits(64, 1 << 20, 500, 100, MaxListRows: 7), NullLogger<KeyValueStore>.Instance);
        var keys = Enumerable.Range(0, 40).Select(i => $"d{i % 5}/k{i:D2}").Concat(Enumerable.Range(0, 20).Select(i => $"top{i:D2}")).ToList();
        await Task.WhenAll(keys.Select(k => store.WriteAsync(k, V(k), WriteMode.Upsert)));

        var seen = new List<string>();
        var marker = "";
        var pages = 0;
        while (true)
        {
            var page = await store.ListAsync("", marker, "/", 100);
            pages++;
            Assert.True(page.Keys.Count + page.Prefixes.Count <= 7, $"page {pages} holds more items than the 7 rows it may read");
            seen.AddRange(page.Keys.Concat(page.Prefixes).Order(StringComparer.Ordinal));
            if (!page.Truncated)
            {
                Assert.Null(page.NextMarker);
                break;
            }
            Assert.NotNull(page.NextMarker);
            marker = page.NextMarker;
            Assert.True(pages < 100, "the listing does not end");
        }
        var expected = Enumerable.Range(0, 5).Select(i => $"d{i}/").Concat(Enumerable.Range(0, 20).Select(i => $"top{i:D2}"));
        Assert.Equal(expected, seen);
        Assert.True(pages > 2, $"a budget of 7 rows listed 25 items over 60 keys in {pages} pages");
    }

    [Theory]
    [InlineData("prefix")]
    [InlineData("marker")]
    [InlineData("delimiter")]
    public async Task A_listing_prefix_marker_or_delimiter_longer_than_the_key_limit_is_invalid(string argument)
    {
        var tooLong = new string('x', 65);
        var listing = argument switch
        {
            "prefix" => await _store.ListAsync(tooLong, "", "", 10),
            "marker" => await _store.ListAsync("", tooLong, "", 10),
            _ => await _store.ListAsync("", "", tooLong, 10),
        };
        Assert.Equal(KvStatus.InvalidArgument, listing.Status);
        Assert.Equal($"The {argument} is 65 bytes; the limit is 64 (the key limit).", listing.Message);
        Assert.Equal(KvStatus.Ok, (await _store.ListAsync(new string('x', 64), new string('x', 64), "/", 10)).Status);
    }

    private static KvListing NaiveList(SortedSet<string> keys, string prefix, string marker, string delimiter, int limit)
    {
        var elements = new List<(string Value, bool IsPrefix)>();
        foreach (var key in keys)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal) || (marker.Length > 0 && string.CompareOrdinal(key, marker) <= 0))
            {
                continue;
            }
            var cut = delimiter.Length == 0 ? -1 : key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
            if (cut >= 0)
            {
                var common = key[..(cut + delimiter.Length)];
                if (common == marker || elements.Any(e => e.IsPrefix && e.Value == common))
                {
                    continue;
                }
                elements.Add((common, true));
            }
            else
            {
                elements.Add((key, false));
            }
        }
        var page = elements.Take(limit).ToList();
        return new KvListing(KvStatus.Ok, page.Where(e => !e.IsPrefix).Select(e => e.Value).ToList(), page.Where(e => e.IsPrefix).Select(e => e.Value).ToList(), elements.Count > limit);
    }
}
