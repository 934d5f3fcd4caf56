using Microsoft.Extensions.Logging;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// Hands the Kestrel host's log categories to the caller's logger factory, so the host's own filters (which cap
/// ASP.NET Core's chatter) apply first and the caller's rules decide the rest. Does not own the factory.
/// </summary>
internal sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => target.CreateLogger(categoryName);

    public void Dispose()
    {
        // The factory belongs to the caller.
    }
}
