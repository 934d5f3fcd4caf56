using Memo.Protocol.Blocks;

namespace Memo.Protocol.Tests.Blocks;

public sealed class BlockKindsTests
{
    [Theory]
    [InlineData("CHB", BlockKind.Immutable)]
    [InlineData("OKB", BlockKind.Mutable)]
    [InlineData("NB", BlockKind.Named)]
    [InlineData("ACB", BlockKind.Acl)]
    [InlineData("GB", BlockKind.Group)]
    public void Type_strings_round_trip(string type, BlockKind kind)
    {
        Assert.True(BlockKinds.TryParse(type, out var parsed));
        Assert.Equal(kind, parsed);
        Assert.Equal(type, kind.ToTypeString());
        Assert.Equal(kind, BlockKinds.Parse(type));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("chb")]
    [InlineData("acb")]
    [InlineData("CHB ")]
    public void Unknown_type_strings_are_rejected(string? type)
    {
        Assert.False(BlockKinds.TryParse(type, out _));
        Assert.Throws<FormatException>(() => BlockKinds.Parse(type));
    }
}
