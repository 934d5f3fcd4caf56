namespace Memo.Client.Akka.Tests;

// The messages of NoteKeeper, the sample app actor.

/// <summary>Asks the note keeper to store a note under a name; answered by <see cref="Remembered"/> or <see cref="NotDone"/>.</summary>
public sealed record Remember(string Name, string Text);

/// <summary>The note is stored.</summary>
public sealed record Remembered(string Name);

/// <summary>Asks for a note; answered by <see cref="Recalled"/> or <see cref="NotDone"/>.</summary>
public sealed record Recall(string Name);

/// <summary>The note, or null when none has that name.</summary>
public sealed record Recalled(string Name, string? Text);

/// <summary>The store could not be reached or refused; <paramref name="Reason"/> says why.</summary>
public sealed record NotDone(string Name, string Reason);
