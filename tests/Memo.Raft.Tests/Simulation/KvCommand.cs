using System.Text;
using Memo.Testing.Linearizability;

namespace Memo.Raft.Tests.Simulation;

/// <summary>A write to the simulator's key-value state machine, as carried in a log entry.</summary>
public sealed record KvCommand(KvOperationKind Kind, string Key, string? Value, int OperationId)
{
    public byte[] Encode() => Encoding.UTF8.GetBytes($"{(int)Kind}|{Key}|{Value}|{OperationId}");

    public static KvCommand Decode(byte[] data)
    {
        var parts = Encoding.UTF8.GetString(data).Split('|');
        return new KvCommand((KvOperationKind)int.Parse(parts[0]), parts[1], parts[2].Length == 0 ? null : parts[2], int.Parse(parts[3]));
    }

    /// <summary>Applies the command; returns whether it took effect (Insert on a present key, Update/Delete on a missing one do not).</summary>
    public bool ApplyTo(Dictionary<string, string> state)
    {
        switch (Kind)
        {
            case KvOperationKind.Upsert:
                state[Key] = Value!;
                return true;
            case KvOperationKind.Insert:
                return state.TryAdd(Key, Value!);
            case KvOperationKind.Update:
                if (!state.ContainsKey(Key))
                {
                    return false;
                }

                state[Key] = Value!;
                return true;
            case KvOperationKind.Delete:
                return state.Remove(Key);
            default:
                throw new InvalidOperationException($"not a write: {Kind}");
        }
    }

    public static byte[] Serialize(Dictionary<string, string> state) =>
        Encoding.UTF8.GetBytes(string.Join("\n", state.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value)));

    public static Dictionary<string, string> Deserialize(byte[] data)
    {
        var state = new Dictionary<string, string>();
        if (data.Length == 0)
        {
            return state;
        }

        foreach (var line in Encoding.UTF8.GetString(data).Split('\n'))
        {
            var eq = line.IndexOf('=');
            state[line[..eq]] = line[(eq + 1)..];
        }

        return state;
    }
}
