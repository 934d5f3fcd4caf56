using Memo.Protocol.Blocks;

namespace Memo.Node.Storage;

/// <summary>One fragment this node holds of an erasure-coded block: the block's address and the fragment's index.</summary>
public readonly record struct SiloFragment(BlockAddress Address, int Index);
