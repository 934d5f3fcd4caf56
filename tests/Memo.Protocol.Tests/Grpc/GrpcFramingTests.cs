using System.Buffers;
using Memo.Protocol.Grpc;

namespace Memo.Protocol.Tests.Grpc;

public sealed class GrpcFramingTests
{
    [Fact]
    public void Prefix_is_a_flag_byte_and_a_big_endian_length()
    {
        var prefix = new byte[5];
        GrpcFraming.WritePrefix(prefix, 0x01020304);

        Assert.Equal(new byte[] { 0, 1, 2, 3, 4 }, prefix);
        Assert.Equal(new GrpcFramePrefix(0, 0x01020304), GrpcFraming.ReadPrefix(prefix));
    }

    [Fact]
    public void Prefix_split_across_segments_is_read()
    {
        var first = new Segment(new byte[] { 1, 0 });
        var last = first.Append(new byte[] { 0, 1, 0, 42 });
        var sequence = new ReadOnlySequence<byte>(first, 0, last, 4);

        Assert.True(GrpcFraming.TryReadPrefix(sequence, out var prefix));
        Assert.Equal(new GrpcFramePrefix(1, 256), prefix);
        Assert.False(GrpcFraming.TryReadPrefix(new ReadOnlySequence<byte>(new byte[4]), out _));
    }

    [Fact]
    public void Validation_enforces_the_size_limit_and_the_compression_rules()
    {
        GrpcFraming.Validate(new GrpcFramePrefix(0, 100), 100, null);

        Assert.Equal(GrpcStatusCode.ResourceExhausted, Assert.Throws<GrpcException>(() => GrpcFraming.Validate(new(0, 101), 100, null)).Status);
        Assert.Equal(GrpcStatusCode.ResourceExhausted, Assert.Throws<GrpcException>(() => GrpcFraming.Validate(new(0, uint.MaxValue), 100, null)).Status);
        Assert.Equal(GrpcStatusCode.Internal, Assert.Throws<GrpcException>(() => GrpcFraming.Validate(new(1, 1), 100, null)).Status);
        Assert.Equal(GrpcStatusCode.Internal, Assert.Throws<GrpcException>(() => GrpcFraming.Validate(new(1, 1), 100, "identity")).Status);
        Assert.Equal(GrpcStatusCode.Unimplemented, Assert.Throws<GrpcException>(() => GrpcFraming.Validate(new(1, 1), 100, "gzip")).Status);
        Assert.Equal(GrpcStatusCode.Internal, Assert.Throws<GrpcException>(() => GrpcFraming.Validate(new(2, 1), 100, null)).Status);
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("Application/GRPC", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData("", false)]
    public void Recognises_gRPC_content_types(string contentType, bool expected)
    {
        Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(contentType));
    }

    [Fact]
    public void GrpcException_cannot_carry_OK()
    {
        Assert.Throws<ArgumentException>(() => new GrpcException(GrpcStatusCode.OK, "fine"));
    }

    [Fact]
    public void Status_codes_have_the_wire_values_of_the_spec()
    {
        Assert.Equal(17, Enum.GetValues<GrpcStatusCode>().Length);
        Assert.Equal(0, (int)GrpcStatusCode.OK);
        Assert.Equal(4, (int)GrpcStatusCode.DeadlineExceeded);
        Assert.Equal(8, (int)GrpcStatusCode.ResourceExhausted);
        Assert.Equal(12, (int)GrpcStatusCode.Unimplemented);
        Assert.Equal(14, (int)GrpcStatusCode.Unavailable);
        Assert.Equal(16, (int)GrpcStatusCode.Unauthenticated);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
