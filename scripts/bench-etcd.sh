#!/usr/bin/env bash
# Side-by-side: the same closed-loop KV workloads against a local etcd 3.4 member and a local Memo node, through the
# same client (`memo bench kv`, one gRPC channel, 256-byte values, 10000 keys, linearizable gets on both).
#
#   scripts/bench-etcd.sh [--duration 10s] [--warmup 2s] [--quick] [--only memo|etcd] [--nodes 1|3] [--keep]
#                         [--node-build DIR] [--cli-build DIR] [--value-size BYTES] [--keys N] [--concurrency 1,64]
#                         [--workloads put,get,mixed] [--read-ratio 0.5] [--large] [--settle 0s] [--rounds N]
#                         [--before [NAME=]DIR]... [--summary FILE] [--prime 10s]
#
# Runs puts and gets at concurrency 1 and 64 on each store, one store at a time (the other is stopped, so they do
# not compete for the CPU), and prints ops/s, p50 and p99 for both with the Memo/etcd throughput ratio.
# --workloads picks among put, get and mixed (each operation a linearizable get with probability --read-ratio, else
# a put, over the same keys, written first); a mixed run also gets a row per kind (mix/get, mix/put).
# --nodes 3 compares a 3-member etcd cluster with 3 Memo nodes (joined with --seed), all on loopback; the client
# talks to the first member of each.
# etcd runs with its defaults (fsync on) on loopback ports with a fresh data directory; the Memo node runs from a
# Release build with a fresh data directory. Everything started here is killed on exit.
#
# MEMO_NODE_ARGS adds options to every Memo node, e.g. MEMO_NODE_ARGS='--set memo.raft.tick-interval=50ms'; a file
# bench-node-args in a node build's folder adds its options to that build's nodes only, and a file bench-node-env
# there its environment variables (NAME=value, space-separated).
# --large is 1 MiB puts over 200 keys at 8 callers (throughput also in MB/s), works with --nodes 1 and 3: every key
# is written once before the measured runs (so the live data is exactly keys x value size), the runs overwrite them
# (the churn), and after --settle (default 0: at once) the report gives "disk used / live data" (all data folders
# over live data times the members, each member holding a full copy at replication factor 3) and the peak RSS of the
# busiest server during the ingest. After each store's runs the script
# prints its servers' peak resident memory (VmHWM, summed) and the size of their data folders, and their idle CPU
# (5 s with no client once ready, ms of CPU per second per server).
# --node-build DIR runs the Memo.Node.dll already built in DIR (e.g. an older commit's) instead of building this
# tree's, so two node builds are compared through one client; --cli-build DIR the memo.dll already built in DIR.
# --summary FILE also writes the figures as one JSON object (medians per store, workload and concurrency; resources
# per store), which scripts/bench-report.sh reads.
# --rounds N runs every store N times, alternating (the order rotates each round, so none always runs first), and
# reports each figure's median over the rounds, the ratio of the medians, and each round's own ratio: etcd's
# throughput here moves by up to 30% from one run to the next, so one round cannot settle a 10% difference.
# --before [NAME=]DIR adds another Memo.Node build (e.g. the previous commit's, from a worktree) to the same rounds
# (repeatable; NAME labels it, default "before"): the report shows it against the same etcd runs, then how much each
# Memo/etcd ratio of "memo" moved from it.
# --prime D (default 10s, 0s for none) runs, on every store just started, D of the mixed workload at the highest
# concurrency before the measured runs, unreported: without it the first runs measured a fresh process (a node's JIT
# recompiled its hot methods at tier 1 about 20 s after start: 8.2% of a one-node profile of puts at 64 callers).
# Not with --large (its fill and churn are the point there).
# Needs: dotnet, jq, curl, and etcd (Debian: apt-get install -y etcd-server).
set -euo pipefail

DURATION=10s
WARMUP=2s
ONLY=""
KEEP=0
NODES=1
NODE_BUILD=""
CLI_BUILD=""
BEFORES=()
READ_RATIO=0.5
LARGE=0
SETTLE=0s
PRIME=10s
SUMMARY=""
ROUNDS=1
VALUE_SIZE=256
KEYS=10000
WORKLOADS=(put get)
CONCURRENCIES=(1 64)

usage() {
  sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --prime) PRIME="$2"; shift 2 ;;
    --prime=*) PRIME="${1#*=}"; shift ;;
    --duration=*) DURATION="${1#*=}"; shift ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --warmup=*) WARMUP="${1#*=}"; shift ;;
    --quick) DURATION=3s; WARMUP=1s; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    --only=*) ONLY="${1#*=}"; shift ;;
    --keep) KEEP=1; shift ;;
    --nodes) NODES="$2"; shift 2 ;;
    --nodes=*) NODES="${1#*=}"; shift ;;
    --node-build) NODE_BUILD="$2"; shift 2 ;;
    --node-build=*) NODE_BUILD="${1#*=}"; shift ;;
    --cli-build) CLI_BUILD="$2"; shift 2 ;;
    --read-ratio) READ_RATIO="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --summary) SUMMARY="$2"; shift 2 ;;
    --value-size) VALUE_SIZE="$2"; shift 2 ;;
    --keys) KEYS="$2"; shift 2 ;;
    --concurrency) IFS=, read -r -a CONCURRENCIES <<<"$2"; shift 2 ;;
    --workloads) IFS=, read -r -a WORKLOADS <<<"$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --rounds=*) ROUNDS="${1#*=}"; shift ;;
    --before) BEFORES+=("$2"); shift 2 ;;
    --large) LARGE=1; VALUE_SIZE=1048576; KEYS=200; CONCURRENCIES=(8); WORKLOADS=(put); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-etcd: unknown option '$1'" >&2; usage >&2; exit 1 ;;
  esac
done

case "$NODES" in
  1|3) ;;
  *) echo "bench-etcd: --nodes takes 1 or 3, not '$NODES'" >&2; exit 1 ;;
esac

case "$ONLY" in
  "") TARGETS=(memo etcd) ;;
  memo|etcd) TARGETS=("$ONLY") ;;
  *) echo "bench-etcd: --only takes memo or etcd, not '$ONLY'" >&2; exit 1 ;;
esac
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-etcd: --rounds takes a positive whole number, not '$ROUNDS'" >&2; exit 1; }
for workload in "${WORKLOADS[@]}"; do
  case "$workload" in
    put|get|mixed) ;;
    *) echo "bench-etcd: --workloads takes put, get and mixed (comma-separated), not '$workload'" >&2; exit 1 ;;
  esac
done
awk -v r="$READ_RATIO" 'BEGIN { exit !(r ~ /^(0|1|0?\.[0-9]+|1\.0*)$/ && r + 0 <= 1) }' \
  || { echo "bench-etcd: --read-ratio takes a number from 0 to 1, not '$READ_RATIO'" >&2; exit 1; }
[[ "$SETTLE" =~ ^[0-9]+(ms|s|m)?$ ]] || { echo "bench-etcd: --settle takes a duration such as 0s, 15s or 1m, not '$SETTLE'" >&2; exit 1; }
[[ "$PRIME" =~ ^[0-9]+(ms|s|m)?$ ]] || { echo "bench-etcd: --prime takes a duration such as 0s, 10s or 1m, not '$PRIME'" >&2; exit 1; }
[[ -z "$SUMMARY" || -d "$(dirname "$SUMMARY")" ]] || { echo "bench-etcd: no folder for --summary '$SUMMARY'" >&2; exit 1; }
BEFORE_LABELS=()
declare -A BEFORE_DIRS=()
for entry in "${BEFORES[@]}"; do
  [[ "$ONLY" == etcd ]] && { echo "bench-etcd: --before compares Memo builds; it cannot go with --only etcd" >&2; exit 1; }
  name=before; dir="$entry"
  if [[ "$entry" == *=* ]]; then name="${entry%%=*}"; dir="${entry#*=}"; fi
  [[ "$name" =~ ^[A-Za-z0-9_.]+$ && "$name" != memo && "$name" != etcd && -z "${BEFORE_DIRS[$name]:-}" ]] \
    || { echo "bench-etcd: --before needs a distinct NAME (letters, digits, '_', '.'; not memo or etcd) for each build, not '$name'" >&2; exit 1; }
  [[ -f "$dir/Memo.Node.dll" ]] || { echo "bench-etcd: no Memo.Node.dll in '$dir'" >&2; exit 1; }
  BEFORE_LABELS+=("$name"); BEFORE_DIRS[$name]="$dir"
done
if [[ ${#BEFORE_LABELS[@]} -gt 0 ]]; then
  # The builds before run right after "memo" in each round's rotation.
  TARGETS=("${TARGETS[@]:0:1}" "${BEFORE_LABELS[@]}" "${TARGETS[@]:1}")
fi

for tool in dotnet jq curl; do
  command -v "$tool" >/dev/null || { echo "bench-etcd: '$tool' is not installed" >&2; exit 1; }
done
if [[ " ${TARGETS[*]} " == *" etcd "* ]] && ! command -v etcd >/dev/null; then
  echo "bench-etcd: 'etcd' is not installed (Debian/Ubuntu: apt-get install -y etcd-server)" >&2
  exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d -t memo-bench-etcd-XXXXXX)"
SERVER_PIDS=()

stop_server() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do
    # Give it a moment to exit cleanly, then insist.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PIDS=()
}

cleanup() {
  stop_server
  if [[ "$KEEP" == 1 ]]; then
    echo "bench-etcd: logs and data kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

source "$ROOT/scripts/lib/free-port.sh"

log() { echo "bench-etcd: $*" >&2; }

# ---- build ----
if [[ -n "$CLI_BUILD" ]]; then
  [[ -f "$CLI_BUILD/memo.dll" ]] || { echo "bench-etcd: no memo.dll in '$CLI_BUILD'" >&2; exit 1; }
  ln -s "$(cd "$CLI_BUILD" && pwd)" "$WORK/cli"
  log "memo CLI from $CLI_BUILD"
else
  log "building memo CLI (Release)"
  dotnet build -c Release -nologo -v q "$ROOT/Memo.Cli/Memo.Cli.csproj" -o "$WORK/cli" >"$WORK/build-cli.log" 2>&1 \
    || { cat "$WORK/build-cli.log" >&2; exit 1; }
fi
MEMO=(dotnet "$WORK/cli/memo.dll")
if [[ -n "$NODE_BUILD" ]]; then
  [[ -f "$NODE_BUILD/Memo.Node.dll" ]] || { echo "bench-etcd: no Memo.Node.dll in '$NODE_BUILD'" >&2; exit 1; }
  ln -s "$(cd "$NODE_BUILD" && pwd)" "$WORK/node"
  log "Memo.Node from $NODE_BUILD"
elif [[ " ${TARGETS[*]} " == *" memo "* ]]; then
  log "building Memo.Node (Release)"
  dotnet build -c Release -nologo -v q "$ROOT/Memo.Node/Memo.Node.csproj" -o "$WORK/node" >"$WORK/build-node.log" 2>&1 \
    || { cat "$WORK/build-node.log" >&2; exit 1; }
fi

for name in "${BEFORE_LABELS[@]}"; do
  ln -s "$(cd "${BEFORE_DIRS[$name]}" && pwd)" "$WORK/node-$name"
  log "$name: Memo.Node from ${BEFORE_DIRS[$name]}"
done

# ---- servers ----
start_etcd() {
  local i clients=() peers=() cluster="" extra=()
  # etcd keeps every revision until compacted, and refuses writes ("database space exceeded") past its 2 GiB
  # default quota: a large run at a few hundred MB/s would hit it within seconds. 8 GiB is etcd's largest
  # suggested quota; nothing else changes from its defaults.
  [[ "$LARGE" == 1 ]] && extra=(--quota-backend-bytes 8589934592)
  for i in $(seq "$NODES"); do clients+=("$(free_port)"); peers+=("$(free_port)"); done
  for i in $(seq 0 $((NODES - 1))); do
    cluster+="${cluster:+,}bench$i=http://127.0.0.1:${peers[$i]}"
  done
  for i in $(seq 0 $((NODES - 1))); do
    etcd --name "bench$i" --data-dir "$WORK/etcd-data-$i" \
      --listen-client-urls "http://127.0.0.1:${clients[$i]}" --advertise-client-urls "http://127.0.0.1:${clients[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${peers[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peers[$i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new "${extra[@]}" \
      >"$WORK/etcd-$i.log" 2>&1 &
    SERVER_PIDS+=($!)
  done
  ENDPOINT="127.0.0.1:${clients[0]}"
  for _ in $(seq 300); do
    for i in $(seq 0 $((NODES - 1))); do
      kill -0 "${SERVER_PIDS[$i]}" 2>/dev/null || { tail -20 "$WORK/etcd-$i.log" >&2; log "etcd member $i exited"; exit 1; }
    done
    if curl -sf "http://$ENDPOINT/health" 2>/dev/null | grep -q '"health":"true"'; then
      log "etcd $(etcd --version | head -1 | awk '{print $3}') ready: $NODES member(s), client $ENDPOINT"
      return 0
    fi
    sleep 0.1
  done
  log "etcd did not become healthy in 30s"; tail -20 "$WORK/etcd-0.log" >&2; exit 1
}

# start_memo [NODE_DIR]: this tree's build (or --node-build) by default.
start_memo() {
  local node_dir="${1:-$WORK/node}"
  local i ports=() remotes=() seed
  for i in $(seq "$NODES"); do ports+=("$(free_port)"); remotes+=("$(free_port)"); done
  # Seeds name a member's remoting endpoint. (An older build that joined through the API port takes the API port.)
  seed="127.0.0.1:${remotes[0]}"
  local remoting=1
  if ! grep -q "remoting endpoint" <(dotnet "$node_dir/Memo.Node.dll" --help 2>/dev/null); then seed="127.0.0.1:${ports[0]}"; remoting=0; fi
  for i in $(seq 0 $((NODES - 1))); do
    local args=(--listen "127.0.0.1:${ports[$i]}" --data "$WORK/memo-data-$i")
    # A build from before Akka remoting has no --remote.
    [[ "$remoting" == 1 ]] && args+=(--remote "127.0.0.1:${remotes[$i]}")
    # The first node forms the cluster; the others join through it.
    [[ "$i" -gt 0 ]] && args+=(--seed "$seed")
    # shellcheck disable=SC2206 # a list of options on purpose
    [[ -n "${MEMO_NODE_ARGS:-}" ]] && args+=(${MEMO_NODE_ARGS})
    # A build folder may carry its own options (one experiment's setting beside another's in the same rounds).
    # shellcheck disable=SC2207 # a list of options on purpose
    [[ -f "$node_dir/bench-node-args" ]] && args+=($(cat "$node_dir/bench-node-args"))
    local node_env=()
    [[ -f "$node_dir/bench-node-env" ]] && node_env=($(cat "$node_dir/bench-node-env"))
    env "${node_env[@]}" dotnet "$node_dir/Memo.Node.dll" "${args[@]}" >"$WORK/memo-$i.log" 2>&1 &
    SERVER_PIDS+=($!)
  done
  ENDPOINT="127.0.0.1:${ports[0]}"
  # Ready means it stores a key: the listener is up and its shards have leaders; with several nodes, every
  # member is also Up in `memo cluster show`.
  for _ in $(seq 240); do
    for i in $(seq 0 $((NODES - 1))); do
      kill -0 "${SERVER_PIDS[$i]}" 2>/dev/null || { tail -20 "$WORK/memo-$i.log" >&2; log "Memo node $i exited"; exit 1; }
    done
    if "${MEMO[@]}" --node "$ENDPOINT" --timeout 1s kv put bench/ready ok >/dev/null 2>&1; then
      if [[ "$NODES" -eq 1 ]]; then
        log "Memo node ready on $ENDPOINT"
        return 0
      fi
      if [[ "$seed" == "127.0.0.1:${ports[0]}" ]]; then
        # A build from before admin over remoting: this client cannot ask it, so give the joins time instead.
        sleep 20
        log "Memo cluster (older build) assumed ready after 20 s: client $ENDPOINT"
        return 0
      fi
      # memo cluster talks to the admin actor over Akka remoting (--remote), not the gRPC port.
      up="$("${MEMO[@]}" --json cluster show --remote "127.0.0.1:${remotes[0]}" 2>/dev/null | jq '[.members[]? | select(.status == "up")] | length' 2>/dev/null || echo 0)"
      if [[ "$up" -eq "$NODES" ]]; then
        wait_memo_groups "127.0.0.1:${remotes[0]}"
        log "Memo cluster ready: $NODES nodes Up, client $ENDPOINT"
        return 0
      fi
    fi
    sleep 0.5
  done
  log "the Memo node(s) did not become ready in 120s"; tail -20 "$WORK/memo-0.log" >&2; exit 1
}

# Members Up is not enough: the joiners' replicas start as learners and the groups reach the replication factor one
# shard at a time. Measuring before that mixes one-voter groups (no network round trip) into the figures, so wait
# until every replica on the first node is in a group of effectiveReplicationFactor voters with no learner. A build
# whose `cluster shards --json` has no localReplicas gets 20 s instead.
wait_memo_groups() {
  local remote="$1" json
  for _ in $(seq 240); do
    json="$("${MEMO[@]}" --json cluster shards --remote "$remote" 2>/dev/null || true)"
    if [[ -n "$json" ]] && ! jq -e 'has("localReplicas")' >/dev/null <<<"$json"; then
      sleep 20; return 0
    fi
    if [[ -n "$json" ]] && jq -e '.shardCount as $n | .effectiveReplicationFactor as $rf
        | (.localReplicas | length) == $n
          and all(.localReplicas[]; (.voters | length) == $rf and (.learners | length) == 0)' >/dev/null <<<"$json"; then
      return 0
    fi
    sleep 0.5
  done
  log "the shard groups did not reach the replication factor in 120s"; exit 1
}

# ---- runs ----
# run_target LABEL ROUND: memo (this tree's or --node-build), before (--before) or etcd; files $WORK/LABEL-*-rROUND.*
run_target() {
  local label="$1" round="$2" workload concurrency out kind="$1"
  case "$label" in
    memo) start_memo ;;
    etcd) start_etcd ;;
    *) kind=memo; start_memo "$WORK/node-$label" ;;
  esac
  # Idle CPU (timers, heartbeats of every shard group): 5 s with no client, per server, in ms of CPU per second.
  local idle_before
  idle_before="$(server_cpu_ms)"
  sleep 5
  echo $(( ($(server_cpu_ms) - idle_before) / 5 / ${#SERVER_PIDS[@]} )) >"$WORK/$label-idle-r$round.txt"
  if [[ "$LARGE" == 1 ]]; then
    # Every key once before the measured runs, so the live data after them is exactly keys x value size. A get
    # run writes its key space first; its one second of reads is not reported.
    log "$label${ROUNDS_NOTE:-}: writing the $KEYS keys of $VALUE_SIZE bytes once"
    if ! "${MEMO[@]}" bench kv --json --target "$kind" --node "$ENDPOINT" --workload get --concurrency "${CONCURRENCIES[0]}" \
        --duration 1s --warmup 0s --value-size "$VALUE_SIZE" --keys "$KEYS" >/dev/null 2>"$WORK/$label-fill-r$round.err"; then
      log "$label: writing the keys failed: $(cat "$WORK/$label-fill-r$round.err")"
    fi
  fi
  if [[ "$LARGE" == 0 && "$(seconds "$PRIME")" != 0 ]]; then
    local highest
    highest="$(printf '%s\n' "${CONCURRENCIES[@]}" | sort -n | tail -1)"
    log "$label${ROUNDS_NOTE:-}: priming with $PRIME of mixed work at concurrency $highest (not reported)"
    if ! "${MEMO[@]}" bench kv --json --target "$kind" --node "$ENDPOINT" --workload mixed --read-ratio 0.5 \
        --concurrency "$highest" --duration "$PRIME" --warmup 0s --value-size "$VALUE_SIZE" --keys "$KEYS" \
        >/dev/null 2>"$WORK/$label-prime-r$round.err"; then
      log "$label: priming failed: $(cat "$WORK/$label-prime-r$round.err")"
    fi
  fi
  for workload in "${WORKLOADS[@]}"; do
    for concurrency in "${CONCURRENCIES[@]}"; do
      out="$WORK/$label-$workload-$concurrency-r$round.json"
      log "$label${ROUNDS_NOTE:-}: $workload at concurrency $concurrency for $DURATION (+$WARMUP warm-up)"
      local cpu_before
      cpu_before="$(server_cpu_ms)"
      local ratio=()
      [[ "$workload" == mixed ]] && ratio=(--read-ratio "$READ_RATIO")
      if ! "${MEMO[@]}" bench kv --json --target "$kind" --node "$ENDPOINT" --workload "$workload" "${ratio[@]}" \
          --concurrency "$concurrency" --duration "$DURATION" --warmup "$WARMUP" \
          --value-size "$VALUE_SIZE" --keys "$KEYS" >"$out" 2>"$WORK/$label-$workload-$concurrency-r$round.err"; then
        log "$label $workload c=$concurrency failed: $(cat "$WORK/$label-$workload-$concurrency-r$round.err")"
        rm -f "$out"
      fi
      echo $(( $(server_cpu_ms) - cpu_before )) >"$WORK/$label-$workload-$concurrency-r$round.cpu"
    done
  done
  if [[ "$(seconds "$SETTLE")" != 0 ]]; then
    log "$label: $SETTLE with no client before measuring the data folders (background compaction)"
    sleep "$(seconds "$SETTLE")"
  fi
  record_resources "$label" "$kind" "$round"
  stop_server
  # Every round starts from empty data folders.
  rm -rf "$WORK"/memo-data-* "$WORK"/etcd-data-*
}

# CPU time (user + system, ms) the target's servers have used so far.
server_cpu_ms() {
  local pid total=0 ticks hz
  hz="$(getconf CLK_TCK)"
  for pid in "${SERVER_PIDS[@]}"; do
    # Fields 14 and 15 of /proc/PID/stat, counted after the command name's closing parenthesis.
    ticks="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0)"
    total=$((total + ${ticks:-0}))
  done
  echo $((total * 1000 / hz))
}

# Peak resident memory of the target's servers (MB, summed), the bytes its data folders hold now (MB), and the
# peak of the busiest server (MB).
record_resources() {
  local label="$1" kind="$2" round="$3" pid rss=0 most=0 hwm
  for pid in "${SERVER_PIDS[@]}"; do
    hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)"
    rss=$((rss + ${hwm:-0}))
    [[ "${hwm:-0}" -gt "$most" ]] && most="$hwm"
  done
  local bytes
  bytes="$(du -sb "$WORK/$kind"-data-* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')"
  echo "$((rss / 1024)) $((bytes / 1048576)) $((most / 1024))" >"$WORK/$label-resources-r$round.txt"
}

# seconds DURATION: 500ms, 10s, 2m (or a bare number of seconds) in seconds.
seconds() { awk -v d="$1" 'BEGIN { n = d + 0; if (d ~ /ms$/) n /= 1000; else if (d ~ /m$/) n *= 60; print n }'; }

[[ "$LARGE" == 0 && "$(seconds "$PRIME")" != 0 ]] && PRIMED_NOTE=" (each store primed with $PRIME of mixed work once started)"
for round in $(seq "$ROUNDS"); do
  [[ "$ROUNDS" -gt 1 ]] && ROUNDS_NOTE=" (round $round of $ROUNDS)"
  count=${#TARGETS[@]}
  for i in $(seq 0 $((count - 1))); do
    run_target "${TARGETS[$(( (i + round - 1) % count ))]}" "$round"
  done
done

# ---- table ----
# median: the median of the numbers on stdin ("-" when none).
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# over LABEL WORKLOAD CONCURRENCY JQ-PATH: the field in every round that has it, one per line.
over() {
  local f round
  for round in $(seq "$ROUNDS"); do
    f="$WORK/$1-$2-$3-r$round.json"
    [[ -s "$f" ]] && jq -r "$4" "$f"
  done
  return 0
}
# median_of LABEL WORKLOAD CONCURRENCY JQ-PATH: the median over the rounds, "-" when no round has it.
median_of() { over "$@" | median; }
# errors: summed over the rounds.
errors() { over "$1" "$2" "$3" .errors | awk '{ s += $1; n++ } END { if (n) print s; else print "-" }'; }
ratio() { awk -v m="$1" -v e="$2" 'BEGIN { if (m != "-" && e != "-" && e > 0) printf "%.2f", m / e; else print "-" }'; }
# Each round's own Memo/etcd ratio (--rounds above 1) of the JQ-PATH throughput (default .opsPerSecond).
round_ratios() {
  local label="$1" workload="$2" concurrency="$3" path="${4:-.opsPerSecond}" round m e list=""
  for round in $(seq "$ROUNDS"); do
    m="$WORK/$label-$workload-$concurrency-r$round.json"; e="$WORK/etcd-$workload-$concurrency-r$round.json"
    if [[ -s "$m" && -s "$e" ]]; then list+="$(ratio "$(jq -r "$path" "$m")" "$(jq -r "$path" "$e")") "; else list+="- "; fi
  done
  echo "${list% }"
}
# table_row LABEL WORKLOAD CONCURRENCY NAME KIND: one line of the table; KIND is "" (every operation), read or write
# (a mixed run's gets or puts alone, from the same runs).
table_row() {
  local label="$1" workload="$2" concurrency="$3" name="$4" kind="$5" ops=.opsPerSecond lat=.latencyUs m_errors e_errors
  case "$kind" in
    read) ops=.readsPerSecond; lat=.readLatencyUs ;;
    write) ops=.writesPerSecond; lat=.writeLatencyUs ;;
  esac
  local m_ops e_ops extra=""
  m_ops="$(median_of "$label" "$workload" "$concurrency" "$ops")"; e_ops="$(median_of etcd "$workload" "$concurrency" "$ops")"
  [[ "$ROUNDS" -gt 1 ]] && extra=" | $(round_ratios "$label" "$workload" "$concurrency" "$ops")"
  # Errors belong to the run, not to one kind: the per-kind rows leave the column empty.
  m_errors=""; e_errors=""
  [[ -z "$kind" ]] && { m_errors="$(errors "$label" "$workload" "$concurrency")"; e_errors="$(errors etcd "$workload" "$concurrency")"; }
  printf '%-8s %5s | %12s %9s %9s %7s | %12s %9s %9s %7s | %9s%s\n' "$name" "$concurrency" \
    "$m_ops" "$(median_of "$label" "$workload" "$concurrency" "$lat.p50")" "$(median_of "$label" "$workload" "$concurrency" "$lat.p99")" "$m_errors" \
    "$e_ops" "$(median_of etcd "$workload" "$concurrency" "$lat.p50")" "$(median_of etcd "$workload" "$concurrency" "$lat.p99")" "$e_errors" \
    "$(ratio "$m_ops" "$e_ops")" "$extra"
}

MEMO_LABELS=()
for label in "${TARGETS[@]}"; do [[ "$label" != etcd ]] && MEMO_LABELS+=("$label"); done
[[ ${#MEMO_LABELS[@]} -eq 0 ]] && MEMO_LABELS=(memo)

echo
if [[ "$ROUNDS" -gt 1 ]]; then
  medians=", medians over $ROUNDS rounds (each round runs every store once, in rotating order)"
fi
echo "memo bench kv: ${NODES} node(s) each, ${VALUE_SIZE}-byte values, ${KEYS} keys, ${DURATION} per run after ${WARMUP} warm-up${PRIMED_NOTE:-}; latency in microseconds; $(nproc) CPUs${medians:-}"
for label in "${MEMO_LABELS[@]}"; do
  if [[ ${#MEMO_LABELS[@]} -gt 1 ]]; then
    echo
    if [[ "$label" == memo ]]; then echo "memo = ${NODE_BUILD:-the Memo.Node of this tree}"; else echo "memo = $label: ${BEFORE_DIRS[$label]}"; fi
  fi
  extra=""; [[ "$ROUNDS" -gt 1 ]] && extra=" | each round"
  printf '%-8s %5s | %12s %9s %9s %7s | %12s %9s %9s %7s | %9s%s\n' \
    workload conc "memo ops/s" "p50" "p99" "errors" "etcd ops/s" "p50" "p99" "errors" "memo/etcd" "$extra"
  printf '%s\n' "---------------+-------------------------------------------+-------------------------------------------+----------"
  for workload in "${WORKLOADS[@]}"; do
    for concurrency in "${CONCURRENCIES[@]}"; do
      table_row "$label" "$workload" "$concurrency" "$workload" ""
      if [[ "$workload" == mixed ]]; then
        table_row "$label" "$workload" "$concurrency" mix/get read
        table_row "$label" "$workload" "$concurrency" mix/put write
      fi
    done
  done
done
[[ " ${WORKLOADS[*]} " == *" mixed "* ]] && echo "mixed: each operation a get with probability $READ_RATIO, else a put; mix/get and mix/put are its two kinds (ops/s: that kind's share)"
for name in "${BEFORE_LABELS[@]}"; do
  echo
  echo "Memo/etcd ratio, memo against $name (same etcd runs): a drop above 10% is flagged"
  for workload in "${WORKLOADS[@]}"; do
    for concurrency in "${CONCURRENCIES[@]}"; do
      e_ops="$(median_of etcd "$workload" "$concurrency" .opsPerSecond)"
      after="$(ratio "$(median_of memo "$workload" "$concurrency" .opsPerSecond)" "$e_ops")"
      before="$(ratio "$(median_of "$name" "$workload" "$concurrency" .opsPerSecond)" "$e_ops")"
      printf '%-8s %5s | %s %s, memo %s: %s\n' "$workload" "$concurrency" "$name" "$before" "$after" \
        "$(awk -v a="$after" -v b="$before" 'BEGIN { if (a == "-" || b == "-" || b <= 0) print "-"; else { c = (a / b - 1) * 100; printf "%+.0f%%%s", c, (c < -10 ? "  DROP" : "") } }')"
    done
  done
done
if [[ "$VALUE_SIZE" -ge 65536 ]]; then
  echo
  for workload in "${WORKLOADS[@]}"; do
    for concurrency in "${CONCURRENCIES[@]}"; do
      line=""
      for label in "${TARGETS[@]}"; do
        line+=" $label $(awk -v o="$(median_of "$label" "$workload" "$concurrency" .opsPerSecond)" -v v="$VALUE_SIZE" 'BEGIN { if (o == "-") print "-"; else printf "%d", o * v / 1048576 }'),"
      done
      printf '%-8s %5s | MB/s:%s\n' "$workload" "$concurrency" "${line%,}"
    done
  done
fi
echo
# Server CPU per operation: the servers' CPU time over the run and its warm-up, divided by the operations of both
# (the warm-up's counted at the run's rate). What bounds throughput on a machine with few cores. Median over rounds.
span="$(awk -v a="$(seconds "$DURATION")" -v b="$(seconds "$WARMUP")" 'BEGIN { print a + b }')"
# cpu_per_op LABEL WORKLOAD CONCURRENCY: that median, µs ("-" when no round has it).
cpu_per_op() {
  local round f
  for round in $(seq "$ROUNDS"); do
    f="$WORK/$1-$2-$3-r$round"
    [[ -s "$f.json" && -s "$f.cpu" ]] && awk -v c="$(cat "$f.cpu")" -v o="$(jq -r .opsPerSecond "$f.json")" -v s="$span" \
      'BEGIN { if (o > 0) printf "%.0f\n", c * 1000 / (o * s) }'
  done | median
}
for workload in "${WORKLOADS[@]}"; do
  for concurrency in "${CONCURRENCIES[@]}"; do
    line=""
    for label in "${TARGETS[@]}"; do
      line+=" $label $(cpu_per_op "$label" "$workload" "$concurrency") µs"
    done
    printf '%-8s %5s | server CPU per operation:%s\n' "$workload" "$concurrency" "$line"
  done
done
echo
# resource LABEL FIELD: field FIELD (1 peak RSS summed, 2 data folder MB, 3 peak RSS of the busiest server) of each
# round, one per line.
resource() {
  local round
  for round in $(seq "$ROUNDS"); do
    [[ -s "$WORK/$1-resources-r$round.txt" ]] && awk -v f="$2" '{ print $f }' "$WORK/$1-resources-r$round.txt"
  done
  return 0
}
LIVE_MB="$(awk -v k="$KEYS" -v v="$VALUE_SIZE" 'BEGIN { printf "%.0f", k * v / 1048576 }')"
declare -A RSS=() RSS_BUSIEST=() DISK=() IDLE=() DISK_RATIO=()
settled=""; [[ "$(seconds "$SETTLE")" != 0 ]] && settled=" and $SETTLE with no client"
for label in "${TARGETS[@]}"; do
  RSS[$label]="$(resource "$label" 1 | sort -g | tail -1)"
  RSS_BUSIEST[$label]="$(resource "$label" 3 | sort -g | tail -1)"
  DISK[$label]="$(resource "$label" 2 | median)"
  IDLE[$label]="$(for round in $(seq "$ROUNDS"); do [[ -s "$WORK/$label-idle-r$round.txt" ]] && cat "$WORK/$label-idle-r$round.txt"; done | median)"
  # Each member holds a full copy (etcd always; Memo at replication factor 3 on 1 or 3 nodes).
  DISK_RATIO[$label]="$(awk -v d="${DISK[$label]}" -v l="$LIVE_MB" -v n="$NODES" 'BEGIN { if (d == "-" || l <= 0) print "-"; else printf "%.2f", d / (l * n) }')"
  [[ -n "${RSS[$label]}" ]] && echo "$label: peak RSS ${RSS[$label]} MB (all servers; highest round; busiest server ${RSS_BUSIEST[$label]} MB), data folders ${DISK[$label]} MB after the runs$settled"
  [[ "${IDLE[$label]}" != "-" ]] && echo "$label: idle CPU ${IDLE[$label]} ms per second per server (5 s with no client, before the runs)"
done
if [[ "$LARGE" == 1 ]]; then
  echo
  for label in "${TARGETS[@]}"; do
    [[ -n "${RSS[$label]}" ]] || continue
    echo "$label: disk used / live data ${DISK_RATIO[$label]}x (data folders ${DISK[$label]} MB over $NODES member(s) x ${LIVE_MB} MB live = $KEYS keys x $VALUE_SIZE bytes, after the churn$settled); peak RSS during the ingest ${RSS_BUSIEST[$label]} MB (busiest server)"
  done
fi

# ---- summary (--summary FILE) ----
if [[ -n "$SUMMARY" ]]; then
  {
    for label in "${TARGETS[@]}"; do
      for workload in "${WORKLOADS[@]}"; do
        for concurrency in "${CONCURRENCIES[@]}"; do
          kinds=(all); [[ "$workload" == mixed ]] && kinds=(all read write)
          for kind in "${kinds[@]}"; do
            ops=.opsPerSecond lat=.latencyUs
            [[ "$kind" == read ]] && { ops=.readsPerSecond; lat=.readLatencyUs; }
            [[ "$kind" == write ]] && { ops=.writesPerSecond; lat=.writeLatencyUs; }
            jq -cn --arg store "$label" --arg workload "$workload" --arg concurrency "$concurrency" --arg kind "$kind" \
              --arg ops "$(median_of "$label" "$workload" "$concurrency" "$ops")" \
              --arg p50 "$(median_of "$label" "$workload" "$concurrency" "$lat.p50")" \
              --arg p99 "$(median_of "$label" "$workload" "$concurrency" "$lat.p99")" \
              --arg errors "$(errors "$label" "$workload" "$concurrency")" \
              --arg cpu "$(cpu_per_op "$label" "$workload" "$concurrency")" \
              --arg valueSize "$VALUE_SIZE" \
              'def num: (tonumber? // null);
               { "type": "run", "label": $store, "workload": $workload, "concurrency": ($concurrency | tonumber), "kind": $kind,
                 "opsPerSecond": ($ops | num), "p50Us": ($p50 | num), "p99Us": ($p99 | num), "errors": ($errors | num),
                 "serverCpuPerOpUs": ($cpu | num),
                 "mbPerSecond": (if ($ops | num) == null then null else ($ops | num) * ($valueSize | tonumber) / 1048576 end) }'
          done
        done
      done
      jq -cn --arg store "$label" --arg rss "${RSS[$label]}" --arg busiest "${RSS_BUSIEST[$label]}" --arg disk "${DISK[$label]}" \
        --arg idle "${IDLE[$label]}" --arg ratio "${DISK_RATIO[$label]}" \
        'def num: (tonumber? // null);
         { "type": "store", "label": $store, "peakRssMb": ($rss | num), "peakRssBusiestServerMb": ($busiest | num),
           "dataMb": ($disk | num), "diskOverLive": ($ratio | num), "idleCpuMsPerSecond": ($idle | num) }'
    done
  } | jq -s --argjson nodes "$NODES" --argjson valueSize "$VALUE_SIZE" --argjson keys "$KEYS" --argjson rounds "$ROUNDS" \
      --arg duration "$DURATION" --arg warmup "$WARMUP" --arg settle "$SETTLE" --arg prime "$PRIME" --argjson large "$LARGE" --arg readRatio "$READ_RATIO" \
      --argjson liveMb "$LIVE_MB" \
      '{ "nodes": $nodes, "valueSize": $valueSize, "keys": $keys, "rounds": $rounds, "duration": $duration,
         "warmup": $warmup, "settle": $settle, "prime": $prime, "large": ($large == 1), "readRatio": ($readRatio | tonumber),
         "liveMb": $liveMb, "runs": [.[] | select(.type == "run") | del(.type)],
         "stores": [.[] | select(.type == "store") | del(.type)] }' >"$SUMMARY"
  log "summary written to $SUMMARY"
fi
exit 0
