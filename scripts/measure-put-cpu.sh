#!/usr/bin/env bash
# CPU per put on one node: starts a Memo node on a fresh data folder, warms it up, then runs
# `memo bench kv --workload put` and prints the node's CPU time (user + system, from /proc/PID/stat) divided by the
# puts done. On a shared machine ops/s swings with the load; CPU per put moves far less, so compare builds with it.
#
#   scripts/measure-put-cpu.sh [--node-build DIR] [--cli-build DIR] [--runs N] [--duration 20s] [--concurrency 64]
#                              [--value-size 256] [--keys 10000] [--node-env NAME=VALUE ...] [--trace FILE] [--strace]
#                              [--keep]
#
# --node-build DIR runs the Memo.Node.dll in DIR (default: this tree's Release build under $MEMO_ARTIFACTS or bin/);
# --cli-build DIR the memo.dll in DIR. Each run is one line: ops, ops/s, p50, node CPU seconds, CPU µs per put, the
# node's idle CPU rate (measured before the runs, in ms per second: timers of 64 shards; subtracted for the seconds
# the bench client spends starting).
# --node-env NAME=VALUE sets an environment variable for the node only (e.g. a DOTNET_ runtime knob); repeatable.
# --trace FILE also samples the node with `dotnet-trace collect-linux --profile cpu-sampling` for 10 s in the middle
# of the first run (FILE, a .nettrace; read it with `dotnet-trace report FILE topN -n 150 --inclusive`).
# --strace adds a run with `strace -c -f` attached to the node and prints its system calls per put and per second
# (SQLite's fsync per second is the group commit's rate).
# Needs dotnet, jq and ss; strace for --strace, the dotnet-trace tool (~/.dotnet/tools) for --trace.
set -euo pipefail

NODE_BUILD=""
CLI_BUILD=""
RUNS=2
DURATION=20s
CONCURRENCY=64
VALUE_SIZE=256
KEYS=10000
TRACE=""
STRACE=0
KEEP=0
NODE_ENV=()

while [[ $# -gt 0 ]]; do
  case "$1" in
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
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "measure-put-cpu: unknown option '$1'" >&2; exit 1 ;;
  esac
done

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

bench() { # duration warmup -> JSON on stdout
  "${MEMO[@]}" bench kv --json --node "$ENDPOINT" --workload put --concurrency "$CONCURRENCY" \
    --duration "$1" --warmup "$2" --value-size "$VALUE_SIZE" --keys "$KEYS"
}

# Warm up (JIT, tiered compilation, the key space written once), then the idle rate.
bench 10s 0s >/dev/null
sleep 2
idle0="$(cpu_ticks "$NODE_PID")"; sleep 5; idle1="$(cpu_ticks "$NODE_PID")"
IDLE_MS_PER_S="$(awk -v a="$idle0" -v b="$idle1" -v hz="$HZ" 'BEGIN{printf "%.1f", (b-a)*1000/hz/5}')"
echo "node $NODE_BUILD ${NODE_ENV[*]+${NODE_ENV[*]}}, $CONCURRENCY callers, ${VALUE_SIZE}-byte values, $DURATION per run; idle node CPU ${IDLE_MS_PER_S} ms/s; load $(cut -d' ' -f1-3 /proc/loadavg)"

secs="${DURATION%s}"
for run in $(seq "$RUNS"); do
  side=()
  if [[ "$run" == 1 && -n "$TRACE" ]]; then
    ( sleep $((secs / 2 - 5 > 1 ? secs / 2 - 5 : 1))
      ~/.dotnet/tools/dotnet-trace collect-linux -p "$NODE_PID" --profile cpu-sampling --duration 00:00:00:10 -o "$TRACE" >"$WORK/trace.log" 2>&1 ) &
    side+=($!)
  fi
  t0="$(date +%s.%N)"; c0="$(cpu_ticks "$NODE_PID")"
  out="$(bench "$DURATION" 0s)"
  c1="$(cpu_ticks "$NODE_PID")"; t1="$(date +%s.%N)"
  for pid in "${side[@]}"; do wait "$pid" || true; done
  ops="$(jq -r .ops <<<"$out")"
  # The bench client's start (about a second) is inside [t0, t1]: the node idles then; that idle CPU is taken out.
  awk -v ops="$ops" -v rate="$(jq -r .opsPerSecond <<<"$out")" -v p50="$(jq -r .latencyUs.p50 <<<"$out")" \
      -v errs="$(jq -r .errors <<<"$out")" -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v t0="$t0" -v t1="$t1" \
      -v secs="$(jq -r .elapsedSeconds <<<"$out")" -v idle="$IDLE_MS_PER_S" -v run="$run" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN{
    cpu = (c1 - c0) / hz; busy = cpu - idle / 1000 * ((t1 - t0) - secs);
    printf "run %d: %d puts (%d errors), %.0f/s, p50 %d us, node CPU %.2f s (%.2f s while the bench ran), %.1f us/put, load %s\n",
      run, ops, errs, rate, p50, cpu, busy, busy * 1e6 / ops, load }'
done

# System calls per put: one more run with strace attached for its whole length (strace slows the node, so this run's
# rate and CPU are not figures; the counts per put are).
if [[ "$STRACE" == 1 ]]; then
  strace -c -f -p "$NODE_PID" -o "$WORK/strace.txt" >/dev/null 2>&1 &
  STRACE_PID=$!
  sleep 2
  t0="$(date +%s.%N)"
  out="$(bench "$DURATION" 0s)"
  t1="$(date +%s.%N)"
  kill -INT "$STRACE_PID"; wait "$STRACE_PID" || true
  ops="$(jq -r .ops <<<"$out")"
  echo "strace -c -f over one run: $ops puts in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s (plus 2 s idle before)"
  awk -v ops="$ops" -v secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a+2}')" '
    /^[ ]*[0-9.]+[ ]+[0-9.]+[ ]+[0-9]+[ ]+[0-9]+/ {
      calls = $4; name = $NF;
      printf "  %-16s %9d calls  %6.2f per put  %8.1f per s\n", name, calls, calls / ops, calls / secs }' "$WORK/strace.txt"
fi
