using Memo.Cli.Commands;
using Memo.Protocol.Kvs;

namespace Memo.Node.Tests.Cli;

public class KeyListingTests
{
    private static ListResponse Page(bool truncated, string[] keys, params string[] prefixes)
    {
        var page = new ListResponse { Truncated = truncated };
        page.Items.AddRange(keys.Select(k => new ListItem { Key = k }));
        page.Prefixes.AddRange(prefixes);
        return page;
    }

    private sealed class FakeNode(params ListResponse[] pages)
    {
        public List<string> Markers { get; } = [];

        public Task<ListResponse> FetchAsync(string marker, CancellationToken cancellationToken)
        {
            Markers.Add(marker);
            return Task.FromResult(pages[Markers.Count - 1]);
        }
    }

    [Fact]
    public async Task One_page_is_fetched_without_all_and_reports_where_to_continue()
    {
        var node = new FakeNode(Page(true, ["a", "b"]), Page(false, ["c"]));
        var listing = await KeyListing.CollectAsync(node.FetchAsync, "", all: false, 100, CancellationToken.None);
        Assert.Equal(["a", "b"], listing.Keys);
        Assert.True(listing.Truncated);
        Assert.Equal("b", listing.NextMarker);
        Assert.Null(listing.Problem);
        Assert.Equal([""], node.Markers);
    }

    [Fact]
    public async Task All_pages_through_with_the_last_name_of_each_page_as_marker()
    {
        var node = new FakeNode(Page(true, ["a", "b"]), Page(true, ["c"], "d/"), Page(false, ["e"]));
        var listing = await KeyListing.CollectAsync(node.FetchAsync, "0", all: true, 100, CancellationToken.None);
        Assert.Equal(["a", "b", "c", "e"], listing.Keys);
        Assert.Equal(["d/"], listing.Prefixes);
        Assert.False(listing.Truncated);
        Assert.Null(listing.NextMarker);
        Assert.Equal(["0", "b", "d/"], node.Markers);
    }

    [Fact]
    public async Task A_prefix_repeated_on_the_next_page_is_listed_once()
    {
        var node = new FakeNode(Page(true, ["a"], "b/"), Page(false, ["c"], "b/"));
        var listing = await KeyListing.CollectAsync(node.FetchAsync, "", all: true, 100, CancellationToken.None);
        Assert.Equal(["b/"], listing.Prefixes);
    }

    [Fact]
    public async Task A_truncated_page_that_does_not_advance_stops_with_a_problem_instead_of_looping()
    {
        var node = new FakeNode(Page(true, ["a"]), Page(true, ["a"]), Page(true, ["a"]));
        var listing = await KeyListing.CollectAsync(node.FetchAsync, "", all: true, 100, CancellationToken.None);
        Assert.NotNull(listing.Problem);
        Assert.Equal(2, node.Markers.Count);
    }

    [Fact]
    public async Task All_stops_at_the_entry_limit_and_says_how_to_continue()
    {
        var node = new FakeNode(Page(true, ["a", "b"]), Page(true, ["c", "d"]), Page(false, ["e"]));
        var listing = await KeyListing.CollectAsync(node.FetchAsync, "", all: true, 3, CancellationToken.None);
        Assert.Equal(["a", "b", "c", "d"], listing.Keys);
        Assert.True(listing.Truncated);
        Assert.Equal("d", listing.NextMarker);
        Assert.Contains("--marker 'd'", listing.Problem);
    }

    [Fact]
    public void The_marker_after_a_page_is_its_greatest_name_in_ordinal_order()
    {
        Assert.Equal("b/", KeyListing.MarkerAfter(Page(true, ["a", "Z"], "b/")));
        Assert.Equal("é", KeyListing.MarkerAfter(Page(true, ["e", "é"])));
        Assert.Null(KeyListing.MarkerAfter(Page(true, [])));
    }
}
