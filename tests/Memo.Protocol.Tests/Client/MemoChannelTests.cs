using Memo.Protocol.Client;
using GrpcException = Memo.Protocol.Grpc.GrpcException;
using GrpcStatusCode = Memo.Protocol.Grpc.GrpcStatusCode;

namespace Memo.Protocol.Tests.Client;

/// <summary>How MemoChannel reads targets and options, and that a custom handler carries the calls.</summary>
public sealed class MemoChannelTests
{
    [Theory]
    [InlineData("node:5000", "http://node:5000/")]
    [InlineData("http://10.0.0.1:7000", "http://10.0.0.1:7000/")]
    [InlineData("https://node.example:443", "https://node.example/")]
    [InlineData("[::1]:5000", "http://[::1]:5000/")]
    public void Targets_are_host_port_or_http_urls_and_host_port_means_cleartext(string target, string expected)
    {
        Assert.Equal(expected, MemoChannel.ParseTarget(target).ToString());
        using var channel = MemoChannel.Create(target);
        Assert.Equal(new Uri(expected).Authority, channel.Target);
    }

    [Theory]
    [InlineData("ftp://node:21")]
    [InlineData("http://node:5000/some/path")]
    [InlineData("dns:///node:5000")]
    [InlineData(" ")]
    public void Invalid_targets_are_rejected(string target)
    {
        Assert.Throws<ArgumentException>(() => MemoChannel.Create(target));
        Assert.Throws<ArgumentException>(() => new MemoClient(target));
    }

    [Fact]
    public void Invalid_channel_options_are_all_reported_at_once()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MemoClient("node:1", new MemoClientOptions
        {
            Channel = new MemoChannelOptions
            {
                MaxReceiveMessageSize = 0,
                MaxSendMessageSize = -1,
                ConnectTimeout = TimeSpan.Zero,
                KeepAlivePingDelay = TimeSpan.FromSeconds(-2),
            },
        }));

        Assert.Contains(nameof(MemoChannelOptions.MaxReceiveMessageSize), ex.Message);
        Assert.Contains(nameof(MemoChannelOptions.MaxSendMessageSize), ex.Message);
        Assert.Contains(nameof(MemoChannelOptions.ConnectTimeout), ex.Message);
        Assert.Contains(nameof(MemoChannelOptions.KeepAlivePingDelay), ex.Message);
    }

    [Fact]
    public void Infinite_keep_alive_and_connect_timeout_are_valid()
    {
        var options = new MemoChannelOptions
        {
            ConnectTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = Timeout.InfiniteTimeSpan,
            KeepAlivePingTimeout = Timeout.InfiniteTimeSpan,
        };

        Assert.Empty(options.Validate());
    }

    [Fact]
    public async Task A_custom_handler_carries_the_calls_with_the_deadline_and_stays_the_callers()
    {
        var handler = new ScriptedHandler(grpcStatus: 5, grpcMessage: "no key");
        using (var client = new MemoClient("node:5000", new MemoClientOptions
        {
            Timeout = TimeSpan.FromSeconds(20),
            Channel = new MemoChannelOptions { HttpMessageHandler = handler },
        }))
        {
            Assert.Null(await client.FetchAsync("k"));
        }

        var request = handler.LastRequest!;
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://node:5000/memo.kvs.KeyValueStore/Fetch", request.RequestUri!.ToString());
        Assert.True(request.Headers.Contains("grpc-timeout"));
        Assert.False(handler.Disposed);
    }

    [Fact]
    public void A_custom_handler_is_disposed_with_the_client_when_asked()
    {
        var handler = new ScriptedHandler(grpcStatus: 0, grpcMessage: "");
        var client = new MemoClient("node:5000", new MemoClientOptions
        {
            Channel = new MemoChannelOptions { HttpMessageHandler = handler, DisposeHttpMessageHandler = true },
        });

        client.Dispose();

        Assert.True(handler.Disposed);
    }

    [Fact]
    public async Task A_status_from_a_custom_handler_maps_like_one_from_a_node()
    {
        var handler = new ScriptedHandler(grpcStatus: 7, grpcMessage: "signature%20does%20not%20verify");
        using var client = new MemoClient("node:5000", new MemoClientOptions { Channel = new MemoChannelOptions { HttpMessageHandler = handler } });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => client.UpsertAsync("k", "v"u8.ToArray()));

        Assert.Equal(GrpcStatusCode.PermissionDenied, ex.Status);
        Assert.Equal("signature does not verify", ex.Message);
    }
}
