using Akka.Configuration;

namespace Memo.Node.Configuration;

/// <summary>One parsed source of configuration laid over the defaults: a <c>--config</c> file or one override.</summary>
/// <param name="Source">Names the source in problems, e.g. <c>config file 'my.conf'</c> or <c>override 'memo.shards.count=8'</c>.</param>
/// <param name="Config">The parsed text.</param>
public sealed record ConfigLayer(string Source, Config Config);
