using System.Text.Json;
using Google.Protobuf;
using Memo.Cli.Commands;
using Memo.Cli.Output;
using Memo.Protocol.ValueStore;

namespace Memo.Node.Tests.Cli;

public class BlockOutputTests
{
    private static Block Stored() => new()
    {
        Type = "OKB",
        Address = ByteString.CopyFrom(Enumerable.Range(0, 32).Select(i => (byte)(i * 2)).ToArray()),
        Data = ByteString.CopyFromUtf8("v1"),
        Salt = ByteString.CopyFrom(1, 2, 3),
        OwnerKey = ByteString.CopyFrom(9, 9, 9),
        Signature = ByteString.CopyFrom(5, 5),
        Version = 4,
    };

    [Fact]
    public void The_next_version_carries_new_data_version_plus_one_and_no_signature()
    {
        var current = Stored();
        var next = BlockUpdateCommand.NextVersion(current, "v2"u8);
        Assert.Equal("v2", next.Data.ToStringUtf8());
        Assert.Equal(5, next.Version);
        Assert.True(next.Signature.IsEmpty);
        Assert.Equal(current.Address, next.Address);
        Assert.Equal(current.Salt, next.Salt);
        Assert.Equal(current.OwnerKey, next.OwnerKey);
        Assert.Equal("OKB", next.Type);
        // The fetched block is left as it was.
        Assert.Equal(4, current.Version);
        Assert.Equal("v1", current.Data.ToStringUtf8());
    }

    [Fact]
    public void The_next_version_replaces_a_plain_payload()
    {
        var current = Stored();
        current.DataPlain = ByteString.CopyFromUtf8("plain");
        var next = BlockUpdateCommand.NextVersion(current, "v2"u8);
        Assert.Equal(Block.PayloadOneofCase.Data, next.PayloadCase);
    }

    [Fact]
    public void Block_json_has_every_field_with_bytes_in_base64_and_the_address_in_hex()
    {
        var json = Json.Write(w => BlockJson.WriteProperties(w, Stored()));
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("OKB", root.GetProperty("type").GetString());
        Assert.Equal("0x" + string.Concat(Enumerable.Range(0, 32).Select(i => (i * 2).ToString("x2"))), root.GetProperty("address").GetString());
        Assert.Equal(4, root.GetProperty("version").GetInt64());
        Assert.False(root.GetProperty("deleted").GetBoolean());
        Assert.Equal("data", root.GetProperty("payload").GetString());
        Assert.Equal(Convert.ToBase64String("v1"u8), root.GetProperty("data").GetString());
        Assert.Equal("AQID", root.GetProperty("salt").GetString());
        Assert.Equal("CQkJ", root.GetProperty("ownerKey").GetString());
        Assert.Equal("BQU=", root.GetProperty("signature").GetString());
        Assert.Equal("", root.GetProperty("owner").GetString());
        Assert.Equal("", root.GetProperty("name").GetString());
    }
}
