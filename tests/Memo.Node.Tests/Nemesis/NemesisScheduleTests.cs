using Memo.Testing.Nemesis;

namespace Memo.Node.Tests.Nemesis;

/// <summary>The pure schedule of the process nemesis: replayable, every kind in every round, victims that make sense.</summary>
public sealed class NemesisScheduleTests
{
    private static readonly TimeSpan Election = TimeSpan.FromSeconds(1);

    [Fact]
    public void The_same_seed_plans_the_same_steps_and_another_seed_others()
    {
        var a = NemesisSchedule.Plan(42, 5, 3, Election);
        var b = NemesisSchedule.Plan(42, 5, 3, Election);
        var c = NemesisSchedule.Plan(43, 5, 3, Election);
        Assert.Equal(NemesisSchedule.Describe(a), NemesisSchedule.Describe(b));
        Assert.NotEqual(NemesisSchedule.Describe(a), NemesisSchedule.Describe(c));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Every_round_holds_every_kind_once_with_victims_the_kind_needs(int nodes)
    {
        var kinds = NemesisSchedule.AllFaults.Count;
        for (var seed = 1; seed <= 50; seed++)
        {
            var steps = NemesisSchedule.Plan(seed, nodes, 2, Election);
            Assert.Equal(2 * kinds, steps.Count);
            foreach (var round in steps.Chunk(kinds))
            {
                Assert.Equal(NemesisSchedule.AllFaults.Order(), round.Select(s => s.Fault).Order());
            }
            foreach (var step in steps)
            {
                Assert.All(step.Victims, v => Assert.InRange(v, 0, nodes - 1));
                Assert.Equal(step.Victims.Count, step.Victims.Distinct().Count());
                switch (step.Fault)
                {
                    case NemesisFault.KillOne or NemesisFault.Pause:
                        Assert.Single(step.Victims);
                        break;
                    case NemesisFault.KillMajority:
                        Assert.Equal((nodes / 2) + 1, step.Victims.Count);
                        break;
                    case NemesisFault.SplitMinority:
                        Assert.InRange(step.Victims.Count, 1, (nodes - 1) / 2);
                        break;
                    case NemesisFault.SlowLinks:
                        Assert.NotNull(step.Links);
                        Assert.False(step.Links.Cut);
                        break;
                    default:
                        Assert.Empty(step.Victims);
                        break;
                }
                if (step.Fault == NemesisFault.Pause)
                {
                    Assert.True(step.Hold > Election, $"a pause of {step.Hold} is not longer than the election timeout");
                }
            }
        }
    }

    [Fact]
    public void A_schedule_can_be_limited_to_some_kinds_and_refuses_fewer_than_three_nodes()
    {
        var steps = NemesisSchedule.Plan(7, 3, 4, Election, [NemesisFault.Pause, NemesisFault.SlowLinks]);
        Assert.Equal(8, steps.Count);
        Assert.All(steps, s => Assert.Contains(s.Fault, new[] { NemesisFault.Pause, NemesisFault.SlowLinks }));
        Assert.Throws<ArgumentOutOfRangeException>(() => NemesisSchedule.Plan(7, 2, 1, Election));
    }

    [Fact]
    public void Link_faults_cut_both_ways_between_the_sides_heal_and_never_touch_an_unattributed_dialler()
    {
        var faults = new LinkFaults();
        faults.Partition([0], [1, 2]);
        Assert.True(faults.Get(0, 1).Cut);
        Assert.True(faults.Get(2, 0).Cut);
        Assert.False(faults.Get(1, 2).Cut);
        Assert.True(faults.Get(-1, 0).IsNone);
        faults.HealAll();
        Assert.True(faults.Get(0, 1).IsNone);
        Assert.Throws<ArgumentException>(() => faults.Set(1, 1, LinkFault.Severed));
    }
}
