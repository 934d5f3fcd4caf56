using System.CommandLine;

namespace Memo.Cli.Commands;

/// <summary><c>memo kv ...</c>: the key-value store (<c>memo.kvs</c>).</summary>
internal sealed class KvCommand
{
    public KvCommand(GlobalOptions global, CliIo io)
    {
        Put = new KvPutCommand(global, io);
        Get = new KvGetCommand(global, io);
        Versions = new KvVersionsCommand(global, io);
        Delete = new KvDeleteCommand(global, io);
        List = new KvListCommand(global, io);
        Import = new KvImportCommand(global, io);
        Export = new KvExportCommand(global, io);
        Command = new Command("kv", "Read and write the key-value store")
        {
            Put.Command, Get.Command, Versions.Command, Delete.Command, List.Command, Import.Command, Export.Command,
        };
    }

    /// <summary>The <c>kv</c> command.</summary>
    public Command Command { get; }

    /// <summary><c>kv put</c>.</summary>
    public KvPutCommand Put { get; }

    /// <summary><c>kv get</c>.</summary>
    public KvGetCommand Get { get; }

    /// <summary><c>kv versions</c>.</summary>
    public KvVersionsCommand Versions { get; }

    /// <summary><c>kv delete</c>.</summary>
    public KvDeleteCommand Delete { get; }

    /// <summary><c>kv list</c>.</summary>
    public KvListCommand List { get; }

    /// <summary><c>kv import</c>.</summary>
    public KvImportCommand Import { get; }

    /// <summary><c>kv export</c>.</summary>
    public KvExportCommand Export { get; }

    /// <summary>The <c>&lt;key&gt;</c> argument shared by the kv commands: any non-empty text.</summary>
    public static Argument<string> KeyArgument()
    {
        var key = new Argument<string>("key") { Description = "The key (any non-empty text)" };
        key.Validators.Add(result =>
        {
            if (string.IsNullOrEmpty(result.GetValueOrDefault<string>()))
            {
                result.AddError("the key must not be empty");
            }
        });
        return key;
    }
}
