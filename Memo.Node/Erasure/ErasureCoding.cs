using System.Globalization;

namespace Memo.Node.Erasure;

/// <summary>
/// The network's erasure-coding policy for immutable blocks (<c>memo.network.erasure</c>,
/// <c>memo.network.erasure-threshold</c>): off, or K data + M parity fragments for every immutable block whose encoded
/// size is above <see cref="Threshold"/> bytes. Fixed when the network is created.
/// </summary>
/// <param name="DataFragments">K; 0 when off.</param>
/// <param name="ParityFragments">M; 0 when off.</param>
/// <param name="Threshold">Blocks of at most this many bytes (encoded) keep whole copies on their replica set.</param>
public readonly record struct ErasureCoding(int DataFragments, int ParityFragments, int Threshold)
{
    /// <summary>The most fragments (K + M) a block is cut into: each goes to its own node.</summary>
    public const int MaxFragments = 16;

    /// <summary>The default threshold: below it a block's K + M fragments would cost more per byte in messages and
    /// rows than they save on disk.</summary>
    public const int DefaultThreshold = 64 * 1024;

    /// <summary>The smallest threshold accepted.</summary>
    public const int MinThreshold = 1024;

    /// <summary>The largest threshold accepted (a block above it is rare enough that erasure coding would never apply).</summary>
    public const int MaxThreshold = 64 << 20;

    /// <summary>No erasure coding: every immutable block is kept as whole copies.</summary>
    public static ErasureCoding Off { get; } = new(0, 0, DefaultThreshold);

    /// <summary>True when blocks above the threshold are erasure coded.</summary>
    public bool IsOn => DataFragments > 0;

    /// <summary>K + M: the fragments of a block, one per node.</summary>
    public int TotalFragments => DataFragments + ParityFragments;

    /// <summary>True when a block of <paramref name="encodedLength"/> bytes is stored as fragments.</summary>
    public bool Applies(int encodedLength) => IsOn && encodedLength > Threshold;

    /// <summary>"off" or "K+M", as <c>memo.network.erasure</c> is written.</summary>
    public string Scheme => IsOn ? string.Create(CultureInfo.InvariantCulture, $"{DataFragments}+{ParityFragments}") : "off";

    /// <inheritdoc />
    public override string ToString() => IsOn ? $"erasure {Scheme} above {Threshold} bytes" : "erasure off";

    /// <summary>
    /// Reads <c>off</c> or <c>K+M</c> (1 ≤ K, 1 ≤ M, K + M ≤ <see cref="MaxFragments"/>); false with what is wrong.
    /// </summary>
    public static bool TryParseScheme(string text, out int dataFragments, out int parityFragments, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        dataFragments = 0;
        parityFragments = 0;
        if (text == "off")
        {
            problem = null;
            return true;
        }
        var plus = text.IndexOf('+', StringComparison.Ordinal);
        if (plus < 0
            || !int.TryParse(text.AsSpan(0, plus), NumberStyles.None, CultureInfo.InvariantCulture, out dataFragments)
            || !int.TryParse(text.AsSpan(plus + 1), NumberStyles.None, CultureInfo.InvariantCulture, out parityFragments))
        {
            dataFragments = parityFragments = 0;
            problem = "must be off or K+M (data + parity fragments), e.g. 4+2";
            return false;
        }
        if (dataFragments < 1 || parityFragments < 1 || dataFragments + parityFragments > MaxFragments)
        {
            dataFragments = parityFragments = 0;
            problem = $"K+M needs K ≥ 1, M ≥ 1 and K + M ≤ {MaxFragments} (each fragment goes to its own node)";
            return false;
        }
        problem = null;
        return true;
    }
}
