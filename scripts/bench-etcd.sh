#!/usr/bin/env bash
# Side-by-side: the same closed-loop KV workloads against a local etcd 3.4 member and a local Memo node, through the
# same client (`memo bench kv`, one gRPC channel, 256-byte values, 10000 keys, linearizable gets on both).
#
#   scripts/bench-etcd.sh [--duration 10s] [--warmup 2s] [--quick] [--only memo|etcd] [--keep]
#
# Runs puts and gets at concurrency 1 and 64 on each store, one store at a time (the other is stopped, so they do
# not compete for the CPU), and prints ops/s, p50 and p99 for both with the Memo/etcd throughput ratio.
# etcd runs with its defaults (fsync on) on loopback ports with a fresh data directory; the Memo node runs from a
# Release build with a fresh data directory. Everything started here is killed on exit.
#
# Needs: dotnet, jq, curl, and etcd (Debian: apt-get install -y etcd-server).
set -euo pipefail

DURATION=10s
WARMUP=2s
ONLY=""
KEEP=0
VALUE_SIZE=256
KEYS=10000
WORKLOADS=(put get)
CONCURRENCIES=(1 64)

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --duration=*) DURATION="${1#*=}"; shift ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --warmup=*) WARMUP="${1#*=}"; shift ;;
    --quick) DURATION=3s; WARMUP=1s; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    --only=*) ONLY="${1#*=}"; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-etcd: unknown option '$1'" >&2; usage >&2; exit 1 ;;
  esac
done

case "$ONLY" in
  "") TARGETS=(memo etcd) ;;
  memo|etcd) TARGETS=("$ONLY") ;;
  *) echo "bench-etcd: --only takes memo or etcd, not '$ONLY'" >&2; exit 1 ;;
esac

for tool in dotnet jq curl; do
  command -v "$tool" >/dev/null || { echo "bench-etcd: '$tool' is not installed" >&2; exit 1; }
done
if [[ " ${TARGETS[*]} " == *" etcd "* ]] && ! command -v etcd >/dev/null; then
  echo "bench-etcd: 'etcd' is not installed (Debian/Ubuntu: apt-get install -y etcd-server)" >&2
  exit 1
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d -t memo-bench-etcd-XXXXXX)"
SERVER_PID=""

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    # Give it a moment to exit cleanly, then insist.
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
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

# A loopback port nobody listens on (ephemeral-ish: drawn from 20000-59999, checked with ss).
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    if [[ -z "$(ss -Htln "sport = :$port" 2>/dev/null)" ]]; then
      echo "$port"
      return 0
    fi
  done
  echo "bench-etcd: no free port found" >&2
  return 1
}

log() { echo "bench-etcd: $*" >&2; }

# ---- build ----
log "building memo CLI (Release)"
dotnet build -c Release -nologo -v q "$ROOT/Memo.Cli/Memo.Cli.csproj" -o "$WORK/cli" >"$WORK/build-cli.log" 2>&1 \
  || { cat "$WORK/build-cli.log" >&2; exit 1; }
MEMO=(dotnet "$WORK/cli/memo.dll")
if [[ " ${TARGETS[*]} " == *" memo "* ]]; then
  log "building Memo.Node (Release)"
  dotnet build -c Release -nologo -v q "$ROOT/Memo.Node/Memo.Node.csproj" -o "$WORK/node" >"$WORK/build-node.log" 2>&1 \
    || { cat "$WORK/build-node.log" >&2; exit 1; }
fi

# ---- servers ----
start_etcd() {
  local client peer
  client="$(free_port)"
  peer="$(free_port)"
  etcd --name bench --data-dir "$WORK/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "bench=http://127.0.0.1:$peer" --initial-cluster-state new \
    >"$WORK/etcd.log" 2>&1 &
  SERVER_PID=$!
  ENDPOINT="127.0.0.1:$client"
  for _ in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/etcd.log" >&2; log "etcd exited"; exit 1; }
    if curl -sf "http://$ENDPOINT/health" 2>/dev/null | grep -q '"health":"true"'; then
      log "etcd $(etcd --version | head -1 | awk '{print $3}') ready on $ENDPOINT (data $WORK/etcd-data)"
      return 0
    fi
    sleep 0.1
  done
  log "etcd did not become healthy in 30s"; tail -20 "$WORK/etcd.log" >&2; exit 1
}

start_memo() {
  local port
  port="$(free_port)"
  dotnet "$WORK/node/Memo.Node.dll" --listen "127.0.0.1:$port" --data "$WORK/memo-data" >"$WORK/memo.log" 2>&1 &
  SERVER_PID=$!
  ENDPOINT="127.0.0.1:$port"
  # Ready means it stores a key: the listener is up and its shards have leaders.
  for _ in $(seq 120); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/memo.log" >&2; log "the Memo node exited"; exit 1; }
    if "${MEMO[@]}" --node "$ENDPOINT" --timeout 1s kv put bench/ready ok >/dev/null 2>&1; then
      log "Memo node ready on $ENDPOINT (data $WORK/memo-data)"
      return 0
    fi
    sleep 0.5
  done
  log "the Memo node did not accept a put in 60s"; tail -20 "$WORK/memo.log" >&2; exit 1
}

# ---- runs ----
run_target() {
  local target="$1" workload concurrency out
  "start_$target"
  for workload in "${WORKLOADS[@]}"; do
    for concurrency in "${CONCURRENCIES[@]}"; do
      out="$WORK/$target-$workload-$concurrency.json"
      log "$target: $workload at concurrency $concurrency for $DURATION (+$WARMUP warm-up)"
      if ! "${MEMO[@]}" bench kv --json --target "$target" --node "$ENDPOINT" --workload "$workload" \
          --concurrency "$concurrency" --duration "$DURATION" --warmup "$WARMUP" \
          --value-size "$VALUE_SIZE" --keys "$KEYS" >"$out" 2>"$WORK/$target-$workload-$concurrency.err"; then
        log "$target $workload c=$concurrency failed: $(cat "$WORK/$target-$workload-$concurrency.err")"
        rm -f "$out"
      fi
    done
  done
  stop_server
}

for target in "${TARGETS[@]}"; do
  run_target "$target"
done

# ---- table ----
# field FILE JQ-PATH: the value, or "-" when the run failed or did not happen.
field() {
  if [[ -s "$1" ]]; then jq -r "$2" "$1"; else echo "-"; fi
}

echo
echo "memo bench kv: ${VALUE_SIZE}-byte values, ${KEYS} keys, ${DURATION} per run after ${WARMUP} warm-up; latency in microseconds; $(nproc) CPUs"
printf '%-8s %5s | %12s %9s %9s %7s | %12s %9s %9s %7s | %9s\n' \
  workload conc "memo ops/s" "p50" "p99" "errors" "etcd ops/s" "p50" "p99" "errors" "memo/etcd"
printf '%s\n' "---------------+-------------------------------------------+-------------------------------------------+----------"
for workload in "${WORKLOADS[@]}"; do
  for concurrency in "${CONCURRENCIES[@]}"; do
    m="$WORK/memo-$workload-$concurrency.json"
    e="$WORK/etcd-$workload-$concurrency.json"
    m_ops="$(field "$m" .opsPerSecond)"; e_ops="$(field "$e" .opsPerSecond)"
    ratio="-"
    if [[ "$m_ops" != "-" && "$e_ops" != "-" ]]; then
      ratio="$(awk -v m="$m_ops" -v e="$e_ops" 'BEGIN { if (e > 0) printf "%.2f", m / e; else print "-" }')"
    fi
    printf '%-8s %5s | %12s %9s %9s %7s | %12s %9s %9s %7s | %9s\n' "$workload" "$concurrency" \
      "$m_ops" "$(field "$m" .latencyUs.p50)" "$(field "$m" .latencyUs.p99)" "$(field "$m" .errors)" \
      "$e_ops" "$(field "$e" .latencyUs.p50)" "$(field "$e" .latencyUs.p99)" "$(field "$e" .errors)" \
      "$ratio"
  done
done
