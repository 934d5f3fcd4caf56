using FsCheck;
using FsCheck.Fluent;
using Memo.Node.Cluster;
using static Memo.Node.Tests.Cluster.ClusterFixtures;

namespace Memo.Node.Tests.Cluster;

/// <summary>
/// Merge is a join: commutative, associative, idempotent, on states produced by random legal histories
/// (<see cref="MembershipHistory"/>). A failing case prints the history seed and length and the picked states; FsCheck
/// also prints its replay seed.
/// </summary>
public sealed class MembershipMergePropertyTests
{
    /// <summary>A history (by seed and length) and three states picked from it.</summary>
    public sealed record Pick(int Seed, int Steps, int A, int B, int C)
    {
        private IReadOnlyList<MembershipState>? _history;

        private IReadOnlyList<MembershipState> History => _history ??= MembershipHistory.Run(Seed, Steps);

        public MembershipState StateA => History[A % History.Count];
        public MembershipState StateB => History[B % History.Count];
        public MembershipState StateC => History[C % History.Count];

        public override string ToString() => $"history seed {Seed}, {Steps} steps, states #{A % History.Count}, #{B % History.Count}, #{C % History.Count} of {History.Count}";
    }

    private static readonly Arbitrary<Pick> Picks = (
        from seed in Gen.Choose(0, int.MaxValue)
        from steps in Gen.Choose(1, 150)
        from a in Gen.Choose(0, 10_000)
        from b in Gen.Choose(0, 10_000)
        from c in Gen.Choose(0, 10_000)
        select new Pick(seed, steps, a, b, c)).ToArbitrary();

    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(300);

    [Fact]
    public void Merge_is_idempotent() =>
        Prop.ForAll(Picks, p => Same(p.StateA, p.StateA.Merge(p.StateA), p)).Check(Runs);

    [Fact]
    public void Merge_is_commutative() =>
        Prop.ForAll(Picks, p => Same(p.StateA.Merge(p.StateB), p.StateB.Merge(p.StateA), p)).Check(Runs);

    [Fact]
    public void Merge_is_associative() =>
        Prop.ForAll(Picks, p => Same(
            p.StateA.Merge(p.StateB).Merge(p.StateC),
            p.StateA.Merge(p.StateB.Merge(p.StateC)),
            p)).Check(Runs);

    [Fact]
    public void Merge_absorbs_what_it_already_contains() =>
        Prop.ForAll(Picks, p =>
        {
            var ab = p.StateA.Merge(p.StateB);
            return Same(ab, ab.Merge(p.StateA), p) && Same(ab, p.StateB.Merge(ab), p)
                && ab.CompareVersion(p.StateA) is VersionOrder.Same or VersionOrder.Newer;
        }).Check(Runs);

    [Fact]
    public void Equal_versions_mean_equal_content() =>
        // The seen-set rule of Merge relies on this: a version identifies one content.
        Prop.ForAll(Picks, p =>
        {
            var (a, b) = (p.StateA, p.StateB);
            return !a.Version.Equals(b.Version) || (a.Members.Count == b.Members.Count
                && a.Members.All(m => b.Members.TryGetValue(m.Key, out var theirs) && theirs.Equals(m.Value))
                && a.Reachability.Equals(b.Reachability));
        }).Check(Runs);

    [Fact]
    public void Merge_keeps_every_member_at_its_highest_status() =>
        Prop.ForAll(Picks, p =>
        {
            var merged = p.StateA.Merge(p.StateB);
            return p.StateA.Members.Concat(p.StateB.Members).All(m => merged.Members[m.Key].Status >= m.Value.Status);
        }).Check(Runs);

    [Fact]
    public void Replicas_that_exchange_all_states_end_equal()
    {
        for (var seed = 0; seed < 50; seed++)
        {
            var history = MembershipHistory.Run(seed, 120);
            var all = history.Aggregate(MembershipState.Empty, (acc, s) => acc.Merge(s));
            var reversed = history.Reverse().Aggregate(MembershipState.Empty, (acc, s) => acc.Merge(s));
            Assert.True(all.Equals(reversed), $"seed {seed}:\n{all}\n---\n{reversed}");
        }
    }

    private static bool Same(MembershipState expected, MembershipState actual, Pick pick) =>
        expected.Equals(actual) ? true : throw new Xunit.Sdk.XunitException($"{pick}\nexpected:\n{expected}\nactual:\n{actual}");
}
