using Memo.Node.Storage;
using Xunit.Abstractions;

namespace Memo.Node.Tests.Storage;

public sealed class MemorySiloContractTests(ITestOutputHelper output) : SiloContract(output)
{
    protected override int ModelCheckCases => 300;

    protected override Task<ISilo> CreateSiloAsync() => Task.FromResult<ISilo>(new MemorySilo());

    protected override void SetFaultInjector(ISilo silo, Func<SiloOperation, Exception?>? injector) =>
        ((MemorySilo)silo).FaultInjector = injector;
}
