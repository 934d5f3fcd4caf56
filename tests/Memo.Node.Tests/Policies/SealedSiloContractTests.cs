using Memo.Node.Storage;
using Memo.Node.Storage.Policies;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Policies;

/// <summary>The silo contract run against <see cref="SealedSilo"/> (zstd and encryption) over a <see cref="MemorySilo"/>:
/// sealing is invisible to every caller of the silo.</summary>
public sealed class SealedSiloContractTests(ITestOutputHelper output) : Memo.Node.Tests.Storage.SiloContract(output)
{
    private static readonly KeyEncryptionKey Kek = KeyEncryptionKey.FromBytes(new byte[KeyEncryptionKey.Length], "test");

    protected override int ModelCheckCases => 100;

    protected override bool StoresValuesAsGiven => false;

    protected override async Task<ISilo> CreateSiloAsync() =>
        await SealedSilo.OpenAsync(new MemorySilo(), new DataPolicies(ValueCompression.Zstd, true), Kek, null, CancellationToken.None);

    protected override void SetFaultInjector(ISilo silo, Func<SiloOperation, Exception?>? injector) =>
        ((MemorySilo)((SealedSilo)silo).Inner).FaultInjector = injector;
}
