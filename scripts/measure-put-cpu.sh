#!/usr/bin/env bash
# CPU per put (or per get) on one node: starts a Memo node on a fresh data folder, warms it up, then runs
# `memo bench kv --workload put` (or `--workload get`: linearizable gets of the key space the warm-up wrote) and prints
# the node's CPU time (user + system, from /proc/PID/stat) over the measured window divided by the operations done.
# On a shared machine ops/s swings with the load; CPU per operation moves far less, so compare builds with it.
#
#   scripts/measure-put-cpu.sh [--workload put|get] [--node-build DIR] [--cli-build DIR] [--runs N] [--duration 20s]
#                              [--concurrency 64] [--value-size 256] [--keys 10000] [--node-env NAME=VALUE ...]
#                              [--allocations] [--trace FILE] [--strace] [--keep]
#
# --allocations adds a run that also prints the bytes the node allocated per operation (the runtime's
# dotnet.gc.heap.total_allocated, read each second with dotnet-counters from PATH or ~/.dotnet/tools); its CPU figure
# includes the listener's own cost (a few percent), so the other runs go without it.
# --node-build DIR runs the Memo.Node.dll in DIR (default: this tree's Release build under $MEMO_ARTIFACTS or bin/);
# --cli-build DIR the memo.dll in DIR. Each run is one line: ops, ops/s, p50, the node's CPU seconds over the measured
# window (the bench's last elapsedSeconds: the client's start and a get run's writing of its key space are left out),
# CPU µs per operation. The header line gives the idle node's CPU rate (ms per second: timers of 64 shards).
# --node-env NAME=VALUE sets an environment variable for the node only (e.g. a DOTNET_ runtime knob); repeatable.
# --trace FILE also samples the node with `dotnet-trace collect-linux --profile cpu-sampling` for 10 s in the middle
# of the first run (FILE, a .nettrace; read it with `dotnet-trace report FILE topN -n 150 --inclusive`).
# --strace adds a run with `strace -c -f` attached to the node and prints its system calls per put and per second
# (SQLite's fsync per second is the group commit's rate).
# Needs dotnet, jq and ss; strace for --strace, the dotnet-trace tool (~/.dotnet/tools) for --trace.
set -euo pipefail

NODE_BUILD=""
CLI_BUILD=""
WORKLOAD=put
RUNS=2
DURATION=20s
CONCURRENCY=64
VALUE_SIZE=256
KEYS=10000
TRACE=""
STRACE=0
KEEP=0
ALLOCATIONS=0
NODE_ENV=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --workload) WORKLOAD="$2"; shift 2 ;;
    --node-build) NODE_BUILD="$2"; shift 2 ;;
    --cli-build) CLI_BUILD="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --value-size) VALUE_SIZE="$2"; shift 2 ;;
    --keys) KEYS="$2"; shift 2 ;;
    --trace) TRACE="$2"; shift 2 ;;
    --node-env) NODE_ENV+=("$2"); shift 2 ;;
    --strace) STRACE=1; shift ;;
    --allocations) ALLOCATIONS=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "measure-put-cpu: unknown option '$1'" >&2; exit 1 ;;
  esac
done

[[ "$WORKLOAD" == put || "$WORKLOAD" == get ]] || { echo "measure-put-cpu: --workload is put or get, not '$WORKLOAD'" >&2; exit 1; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "$NODE_BUILD" ]]; then
  NODE_BUILD="${MEMO_ARTIFACTS:+$MEMO_ARTIFACTS/bin/Memo.Node/release}"
  NODE_BUILD="${NODE_BUILD:-$ROOT/Memo.Node/bin/Release/net10.0}"
fi
if [[ -z "$CLI_BUILD" ]]; then
  CLI_BUILD="${MEMO_ARTIFACTS:+$MEMO_ARTIFACTS/bin/Memo.Cli/release}"
  CLI_BUILD="${CLI_BUILD:-$ROOT/Memo.Cli/bin/Release/net10.0}"
fi
[[ -f "$NODE_BUILD/Memo.Node.dll" ]] || { echo "measure-put-cpu: no Memo.Node.dll in '$NODE_BUILD' (build Release first)" >&2; exit 1; }
[[ -f "$CLI_BUILD/memo.dll" ]] || { echo "measure-put-cpu: no memo.dll in '$CLI_BUILD'" >&2; exit 1; }
MEMO=(dotnet "$CLI_BUILD/memo.dll")

WORK="$(mktemp -d -t memo-put-cpu-XXXXXX)"
NODE_PID=""
cleanup() {
  if [[ -n "$NODE_PID" ]]; then
    kill "$NODE_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$NODE_PID" 2>/dev/null || true
  fi
  if [[ "$KEEP" == 1 ]]; then echo "measure-put-cpu: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

source "$ROOT/scripts/lib/free-port.sh"

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ="$(getconf CLK_TCK)"

PORT="$(free_port)"
REMOTE="$(free_port)"
ENDPOINT="127.0.0.1:$PORT"
env ${NODE_ENV[@]+"${NODE_ENV[@]}"} dotnet "$NODE_BUILD/Memo.Node.dll" --listen "$ENDPOINT" --remote "127.0.0.1:$REMOTE" --data "$WORK/data" >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 240); do
  kill -0 "$NODE_PID" 2>/dev/null || { tail -20 "$WORK/node.log" >&2; echo "measure-put-cpu: the node exited" >&2; exit 1; }
  "${MEMO[@]}" --node "$ENDPOINT" --timeout 1s kv put ready ok >/dev/null 2>&1 && break
  sleep 0.5
done

bench() { # workload duration warmup -> JSON on stdout
  "${MEMO[@]}" bench kv --json --node "$ENDPOINT" --workload "$1" --concurrency "$CONCURRENCY" \
    --duration "$2" --warmup "$3" --value-size "$VALUE_SIZE" --keys "$KEYS"
}

# Bytes the node allocates while a command runs (dotnet-counters' per-second increments of
# dotnet.gc.heap.total_allocated, summed), or nothing without dotnet-counters.
COUNTERS="$(command -v dotnet-counters || true)"
[[ -z "$COUNTERS" && -x ~/.dotnet/tools/dotnet-counters ]] && COUNTERS=~/.dotnet/tools/dotnet-counters
start_allocation_count() { # FILE SECONDS -> the collector's pid on stdout
  [[ -n "$COUNTERS" ]] || { echo "measure-put-cpu: --allocations needs dotnet-counters (dotnet tool install -g dotnet-counters)" >&2; return 0; }
  # It stops by itself (a background job ignores SIGINT, and its last rows are written at its exit).
  "$COUNTERS" collect -p "$NODE_PID" --counters 'System.Runtime[dotnet.gc.heap.total_allocated]' --format csv \
    --refresh-interval 1 --duration "$(printf '00:00:%02d:%02d' $(($2 / 60)) $(($2 % 60)))" -o "$1" >/dev/null 2>&1 &
  echo $!
}

# Warm up (JIT, tiered compilation, the key space written once), then the idle rate.
bench put 10s 0s >/dev/null
[[ "$WORKLOAD" == get ]] && bench get 10s 0s >/dev/null
sleep 2
idle0="$(cpu_ticks "$NODE_PID")"; sleep 5; idle1="$(cpu_ticks "$NODE_PID")"
IDLE_MS_PER_S="$(awk -v a="$idle0" -v b="$idle1" -v hz="$HZ" 'BEGIN{printf "%.1f", (b-a)*1000/hz/5}')"
echo "node $NODE_BUILD ${NODE_ENV[*]+${NODE_ENV[*]}}, ${WORKLOAD}s, $CONCURRENCY callers, ${VALUE_SIZE}-byte values, $DURATION per run; idle node CPU ${IDLE_MS_PER_S} ms/s; load $(cut -d' ' -f1-3 /proc/loadavg)"

secs="${DURATION%s}"
for run in $(seq $((RUNS + ALLOCATIONS))); do
  side=()
  if [[ "$run" == 1 && -n "$TRACE" ]]; then
    ( sleep $((secs / 2 - 5 > 1 ? secs / 2 - 5 : 1))
      ~/.dotnet/tools/dotnet-trace collect-linux -p "$NODE_PID" --profile cpu-sampling --duration 00:00:00:10 -o "$TRACE" >"$WORK/trace.log" 2>&1 ) &
    side+=($!)
  fi
  # The node's CPU ticks every 0.2 s: a get run writes its key space before it measures, so the figures come from the
  # measured window only (its last elapsedSeconds before the bench returned).
  ( while true; do echo "$(date +%s.%N) $(cpu_ticks "$NODE_PID")"; sleep 0.2; done ) >"$WORK/cpu-$run.txt" 2>/dev/null &
  sampling=$!
  counting=""
  # Long enough for a get run's writing of its key space too; rows outside the measured window are left out below.
  [[ "$ALLOCATIONS" == 1 && "$run" -gt "$RUNS" ]] && counting="$(start_allocation_count "$WORK/alloc-$run.csv" $((secs + 10)))"
  out="$(bench "$WORKLOAD" "$DURATION" 0s)"
  t1="$(date +%s.%N)"; c1="$(cpu_ticks "$NODE_PID")"
  kill "$sampling" 2>/dev/null || true; wait "$sampling" 2>/dev/null || true
  if [[ -n "$counting" ]]; then
    # Not this shell's child (started in a command substitution): wait for its exit, which writes the file's last rows.
    for _ in $(seq 300); do kill -0 "$counting" 2>/dev/null || break; sleep 0.1; done
  fi
  for pid in "${side[@]}"; do wait "$pid" || true; done
  ops="$(jq -r .ops <<<"$out")"
  secs_run="$(jq -r .elapsedSeconds <<<"$out")"
  t0="$(awk -v a="$t1" -v s="$secs_run" 'BEGIN{printf "%.3f", a - s}')"
  # The last sample at or before the window's start.
  c0="$(awk -v t0="$t0" '$1 <= t0 {c = $2} END {print c}' "$WORK/cpu-$run.txt")"
  allocated=""
  if [[ -f "$WORK/alloc-$run.csv" ]]; then
    # Rows are per-second increments stamped at the end of their second: those inside the window.
    allocated="$(awk -F, -v t0="$t0" -v t1="$t1" '/total_allocated/ {
        cmd = "date -u -d \"" $1 "\" +%s"; cmd | getline ts; close(cmd);
        if (ts > t0 + 1 && ts <= t1) { sum += $NF; n++ } } END { if (n > 0) printf "%.0f %d", sum, n }' "$WORK/alloc-$run.csv")"
  fi
  awk -v ops="$ops" -v rate="$(jq -r .opsPerSecond <<<"$out")" -v p50="$(jq -r .latencyUs.p50 <<<"$out")" \
      -v errs="$(jq -r .errors <<<"$out")" -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v secs="$secs_run" -v run="$run" \
      -v load="$(cut -d' ' -f1 /proc/loadavg)" -v op="$WORKLOAD" -v allocated="$allocated" 'BEGIN{
    busy = (c1 - c0) / hz;
    printf "run %d: %d %ss (%d errors), %.0f/s, p50 %d us, node CPU %.2f s in the measured %.1f s, %.1f us/%s",
      run, ops, op, errs, rate, p50, busy, secs, busy * 1e6 / ops, op;
    split(allocated, a, " ");
    if (a[2] > 0) printf ", %.0f bytes allocated/%s (%d s counted)", a[1] / (ops / secs * a[2]), op, a[2];
    printf ", load %s\n", load }'
done

# System calls per put: one more run with strace attached for its whole length (strace slows the node, so this run's
# rate and CPU are not figures; the counts per put are).
if [[ "$STRACE" == 1 ]]; then
  strace -c -f -p "$NODE_PID" -o "$WORK/strace.txt" >/dev/null 2>&1 &
  STRACE_PID=$!
  sleep 2
  t0="$(date +%s.%N)"
  out="$(bench "$WORKLOAD" "$DURATION" 0s)"
  t1="$(date +%s.%N)"
  kill -INT "$STRACE_PID"; wait "$STRACE_PID" || true
  ops="$(jq -r .ops <<<"$out")"
  echo "strace -c -f over one run: $ops ${WORKLOAD}s in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s (plus 2 s idle before)"
  awk -v ops="$ops" -v secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a+2}')" '
    /^[ ]*[0-9.]+[ ]+[0-9.]+[ ]+[0-9]+[ ]+[0-9]+/ {
      calls = $4; name = $NF;
      printf "  %-16s %9d calls  %6.2f per op  %8.1f per s\n", name, calls, calls / ops, calls / secs }' "$WORK/strace.txt"
fi
