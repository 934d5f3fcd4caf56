using System.Text;
using Akka.Actor;

namespace Memo.Client.Akka.Tests;

/// <summary>
/// A sample app actor that keeps notes in Memo through a <see cref="MemoClientActor"/>, as another Akka.NET app
/// would: it has many requests out at once and matches each reply to the asker by the correlation id it chose.
/// </summary>
public sealed class NoteKeeper : ReceiveActor
{
    private readonly IActorRef _memo;
    private readonly Dictionary<long, (IActorRef Asker, string Name)> _waiting = [];
    private long _nextId;

    public NoteKeeper(IActorRef memo)
    {
        _memo = memo;
        Receive<Remember>(remember => Ask(remember.Name, id => new Put(Key(remember.Name), Encoding.UTF8.GetBytes(remember.Text), CorrelationId: id)));
        Receive<Recall>(recall => Ask(recall.Name, id => new Get(Key(recall.Name), id)));
        Receive<PutReply>(reply => Answer(reply, name => new Remembered(name)));
        Receive<GetReply>(reply => Answer(reply, name => new Recalled(name, reply.Value is { } value ? Encoding.UTF8.GetString(value.Span) : null)));
        Receive<MemoFailure>(failure => Answer(failure, name => new NotDone(name, $"{failure.Status}: {failure.Message}")));
    }

    public static Props Props(IActorRef memo) => global::Akka.Actor.Props.Create(() => new NoteKeeper(memo));

    private static string Key(string name) => "notes/" + name;

    private void Ask(string name, Func<long, IMemoRequest> request)
    {
        var id = _nextId++;
        _waiting.Add(id, (Sender, name));
        _memo.Tell(request(id));
    }

    private void Answer(IMemoReply reply, Func<string, object> answer)
    {
        if (reply.CorrelationId is long id && _waiting.Remove(id, out var waiting))
        {
            waiting.Asker.Tell(answer(waiting.Name));
        }
    }
}
