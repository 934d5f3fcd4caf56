#!/usr/bin/env python3
"""Where one three-node put's time goes, from the files of Memo.Node's latency probe.

Run nodes with MEMO_LATENCY_PROBE=PREFIX (each process writes PREFIX.PID; e.g.
MEMO_LATENCY_PROBE=/tmp/lp/probe scripts/bench-etcd.sh --nodes 3 --only memo --workloads put --concurrency 1),
then: scripts/latency-path.py /tmp/lp/probe

For every put (ApiIn..ApiOut on the node that took it), follows the critical path of one Raft round: the leader's
proposal and append, the first follower to receive it, that follower's commit and answer, the leader's commit turn and
answer. Prints the median and mean microseconds of each step. Meaningful at one caller, where puts do not overlap.
"""
import collections
import glob
import statistics
import sys

STEPS = [
    ("Propose", "L", None), ("TurnStart", "L", None), ("Send", "L", 5), ("LinkFlush", "L", None),
    ("InboxReceive", "F", None), ("Pump", "F", None), ("TurnInbound", "F", 5), ("CommitStart", "F", None),
    ("SiloBegin", "F", None), ("SiloEnd", "F", None), ("CommitEnd", "F", None), ("Send", "F", 6),
    ("LinkFlush", "F", None), ("InboxReceive", "L", None), ("Pump", "L", None), ("TurnInbound", "L", 6),
    ("TurnStart", "L", None), ("Completed", "L", None), ("ApiOut", "L", None),
]


def load(prefix):
    events = []
    for node, path in enumerate(sorted(glob.glob(prefix + ".*"))):
        with open(path) as f:
            for line in f:
                if not line.startswith("#"):
                    stage, aux, stamp = line.split()
                    events.append((int(stamp), node, stage, int(aux)))
    events.sort()
    return events


def name(stage, who, aux):
    return f"{stage}{'(' + str(aux) + ')' if aux else ''}@{who}"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    events = load(sys.argv[1])
    deltas = collections.defaultdict(list)
    totals = []
    i, n = 0, len(events)
    while i < n:
        if events[i][2] != "ApiIn":
            i += 1
            continue
        leader, t, j, follower, row, ok = events[i][1], events[i][0], i + 1, None, [], True
        for stage, who, aux in STEPS:
            while j < n:
                stamp, node, s, a = events[j]
                if s == "ApiIn":
                    ok = False
                    break
                on = node == leader if who == "L" else (node != leader if follower is None else node == follower)
                if s == stage and (aux is None or a == aux) and on:
                    break
                j += 1
            if not ok or j >= n:
                ok = False
                break
            if who == "F" and follower is None:
                follower = events[j][1]
            row.append((name(stage, who, aux), events[j][0] - t))
            t = events[j][0]
            j += 1
        if ok:
            for step, d in row:
                deltas[step].append(d / 1000)
            totals.append(sum(d for _, d in row) / 1000)
        i = j if ok else i + 1
    if not totals:
        sys.exit("no complete put found (were the nodes three, and the load one caller?)")
    print(f"puts {len(totals)}, median {statistics.median(totals):.0f} us from ApiIn to ApiOut")
    for stage, who, aux in STEPS:
        v = deltas[name(stage, who, aux)]
        print(f"{name(stage, who, aux):20s} median {statistics.median(v):7.1f} us  mean {statistics.mean(v):7.1f} us")


if __name__ == "__main__":
    main()
