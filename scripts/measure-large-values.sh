#!/usr/bin/env bash
# Large-value ingest on Memo alone: peak RSS of the node processes, throughput and latency of 1 MiB upserts, and the
# data folder against the live data after the run's overwrite churn. Not a comparison with etcd (bench-etcd.sh does
# that); this is how the figures of docs/performance.md "Large values" were taken.
#
#   scripts/measure-large-values.sh [--nodes N] [--duration 20s] [--value-size 1048576] [--keys 200] [--concurrency 8]
#                                   [--node-build DIR] [--cli-build DIR]
#
# --node-build / --cli-build take existing build outputs (a folder holding Memo.Node.dll / memo.dll), e.g. to measure
# an older commit with the same client; by default both are built from this tree. MEMO_NODE_ARGS adds options to
# every node (e.g. MEMO_NODE_ARGS='--erasure 4+2' with --nodes 6 for erasure-coded values).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODES=1 DURATION=20s VALUE_SIZE=1048576 KEYS=200 CONCURRENCY=8 NODE_BUILD="" CLI_BUILD=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) NODES="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --value-size) VALUE_SIZE="$2"; shift 2 ;;
    --keys) KEYS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --node-build) NODE_BUILD="$2"; shift 2 ;;
    --cli-build) CLI_BUILD="$2"; shift 2 ;;
    *) echo "measure-large-values: unknown option '$1'" >&2; exit 1 ;;
  esac
done
WORK="$(mktemp -d -t memo-large-XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "measure-large-values: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

if [[ -z "$CLI_BUILD" ]]; then
  dotnet build -c Release -nologo -v q "$ROOT/Memo.Cli/Memo.Cli.csproj" -o "$WORK/cli" >"$WORK/build-cli.log" 2>&1 || { cat "$WORK/build-cli.log" >&2; exit 1; }
  CLI_BUILD="$WORK/cli"
fi
if [[ -z "$NODE_BUILD" ]]; then
  dotnet build -c Release -nologo -v q "$ROOT/Memo.Node/Memo.Node.csproj" -o "$WORK/node" >"$WORK/build-node.log" 2>&1 || { cat "$WORK/build-node.log" >&2; exit 1; }
  NODE_BUILD="$WORK/node"
fi
MEMO=(dotnet "$CLI_BUILD/memo.dll")

ports=() remotes=()
for i in $(seq "$NODES"); do ports+=("$(free_port)"); remotes+=("$(free_port)"); done
for i in $(seq 0 $((NODES - 1))); do
  args=(--listen "127.0.0.1:${ports[$i]}" --remote "127.0.0.1:${remotes[$i]}" --data "$WORK/data-$i")
  [[ "$i" -gt 0 ]] && args+=(--seed "127.0.0.1:${remotes[0]}")
  # shellcheck disable=SC2206 # a list of options on purpose
  [[ -n "${MEMO_NODE_ARGS:-}" ]] && args+=(${MEMO_NODE_ARGS})
  dotnet "$NODE_BUILD/Memo.Node.dll" "${args[@]}" >"$WORK/node-$i.log" 2>&1 &
  PIDS+=($!)
done
ENDPOINT="127.0.0.1:${ports[0]}"
for _ in $(seq 240); do
  if "${MEMO[@]}" --node "$ENDPOINT" --timeout 1s kv put bench/ready ok >/dev/null 2>&1; then break; fi
  sleep 0.5
done
if [[ "$NODES" -gt 1 ]]; then
  for _ in $(seq 240); do
    # memo cluster talks to a node's Akka remoting endpoint, not its gRPC port.
    up=$("${MEMO[@]}" --json cluster show --remote "127.0.0.1:${remotes[0]}" 2>/dev/null | jq '[.members[]? | select(.status == "up")] | length' 2>/dev/null || echo 0)
    [[ "$up" -ge "$NODES" ]] && break
    sleep 0.5
  done
  # The joiners' replicas are learners until they catch up: wait until node 0's groups have their full voters.
  for _ in $(seq 240); do
    json="$("${MEMO[@]}" --json cluster shards --remote "127.0.0.1:${remotes[0]}" 2>/dev/null || true)"
    if [[ -n "$json" ]] && jq -e '.effectiveReplicationFactor as $rf | all(.localReplicas[]; (.voters | length) == $rf and (.learners | length) == 0)' >/dev/null <<<"$json"; then
      break
    fi
    sleep 0.5
  done
fi
for i in $(seq 0 $((NODES - 1))); do
  kill -0 "${PIDS[$i]}" 2>/dev/null || { tail -20 "$WORK/node-$i.log" >&2; log "node $i exited"; exit 1; }
done
idle=$(awk '/VmRSS/ {print $2}' "/proc/${PIDS[0]}/status")

# Peak resident set of every node while the bench runs (VmHWM after it is the kernel's own peak).
"${MEMO[@]}" bench kv --node "$ENDPOINT" --workload put --value-size "$VALUE_SIZE" --keys "$KEYS" \
  --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 2s >"$WORK/bench.txt" 2>&1 || { cat "$WORK/bench.txt" >&2; exit 1; }
cat "$WORK/bench.txt"
for i in $(seq 0 $((NODES - 1))); do
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/${PIDS[$i]}/status")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/${PIDS[$i]}/status")
  echo "node $i: RSS idle $((idle / 1024)) MB (node 0) -> peak $((hwm / 1024)) MB, now $((rss / 1024)) MB"
done
live=$(( KEYS * VALUE_SIZE / 1048576 ))
sleep 2
for i in $(seq 0 $((NODES - 1))); do
  echo "node $i: data folder $(du -sm "$WORK/data-$i" | cut -f1) MB (live data at most ${live} MB: ${KEYS} keys of ${VALUE_SIZE} B)"
  ls -la "$WORK/data-$i" | awk 'NR>1 {print "   " $5 "\t" $9}'
done
