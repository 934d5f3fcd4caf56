using Memo.Node.Raft;

namespace Memo.Raft.Tests.Core;

/// <summary>The invariant checks format their interpolated message only when they fail (they run on every turn).</summary>
public sealed class RaftInvariantExceptionTests
{
    [Fact]
    public void A_passing_check_formats_nothing()
    {
        var part = new CountingPart();

        RaftInvariantException.ThrowIf(false, $"entry {part} out of order");

        Assert.Equal(0, part.Formatted);
    }

    [Fact]
    public void A_failing_check_throws_with_the_formatted_message()
    {
        var part = new CountingPart();

        var thrown = Assert.Throws<RaftInvariantException>(() => RaftInvariantException.ThrowIf(true, $"entry {part} at {7} out of order"));

        Assert.Equal("Raft invariant violated: entry part at 7 out of order", thrown.Message);
        Assert.Equal(1, part.Formatted);
    }

    private sealed class CountingPart
    {
        public int Formatted { get; private set; }

        public override string ToString()
        {
            Formatted++;
            return "part";
        }
    }
}
