#!/usr/bin/env bash
# A cluster of N real memo node processes on this machine (loopback), for trying the membership by hand.
#
#   scripts/cluster.sh up N [--secure]   build (Release) and start N nodes; node 1 forms the cluster, the others join it
#   scripts/cluster.sh status            `memo cluster show` against node 1 (over Akka remoting: --remote of node 1)
#   scripts/cluster.sh down              stop every node (SIGTERM, then SIGKILL after 15 s)
#
# --secure (or MEMO_SECURE=1): make a network CA in $MEMO_CLUSTER_DIR/ca, an administrator certificate in
# $MEMO_CLUSTER_DIR/admin and a node certificate per node, then run the nodes with mutual TLS on remoting and TLS on
# the API. Clients then need --ca $MEMO_CLUSTER_DIR/ca/ca.crt, memo cluster also --cert and --key of the admin.
#
# Node i serves gRPC on 127.0.0.1:$((BASE_PORT + i - 1)) and Akka remoting on 127.0.0.1:$((REMOTE_BASE_PORT + i - 1)),
# with its data in $MEMO_CLUSTER_DIR/node<i> (data, log, pid).
# Environment: MEMO_CLUSTER_DIR (default ./cluster-data), MEMO_BASE_PORT (default 5090), MEMO_REMOTE_BASE_PORT
# (default MEMO_BASE_PORT + 100), MEMO_METRICS_BASE_PORT (default 9464: node i serves /metrics and /ui on 9464 + i - 1),
# MEMO_NODE_ARGS (extra node options for every node, e.g. "--set memo.cluster.gossip-interval=200ms").
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${MEMO_CLUSTER_DIR:-$PWD/cluster-data}"
BASE_PORT="${MEMO_BASE_PORT:-5090}"
REMOTE_BASE_PORT="${MEMO_REMOTE_BASE_PORT:-$((BASE_PORT + 100))}"
METRICS_BASE_PORT="${MEMO_METRICS_BASE_PORT:-9464}"
BIN="$DIR/bin"

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

CLI() { dotnet "$BIN/cli/memo.dll" "$@"; }

# The CA, the admin certificate and node i's certificate, each made once (files only; no node is involved).
certify() {
  local n="$1"
  [[ -f "$DIR/ca/ca.crt" ]] || CLI network create --dir "$DIR/ca" >/dev/null
  [[ -f "$DIR/admin/admin.crt" ]] || CLI admin certify --ca-dir "$DIR/ca" --out "$DIR/admin" >/dev/null
  for ((i = 1; i <= n; i++)); do
    local data="$DIR/node$i/data"
    if [[ ! -f "$data/node.crt" ]]; then
      [[ -f "$data/memo.db" ]] && { echo "node $i ran without a certificate; start from an empty $DIR or certify it with --id" >&2; exit 1; }
      CLI node certify --ca-dir "$DIR/ca" --data "$data" --host 127.0.0.1 --host localhost >/dev/null
    fi
  done
}

# The options that make node i secure, and those a client needs.
secure_args() {
  local data="$DIR/node$1/data"
  # Single quotes survive the eval in up(), so each HOCON value reaches the node quoted.
  echo "--set 'memo.network.ca=\"$DIR/ca/ca.crt\"' --set 'memo.node.certificate=\"$data/node.crt\"'" \
    "--set 'memo.api.tls.certificate=\"$data/node.crt\"' --set 'memo.api.tls.key=\"$data/node.key\"'"
}
admin_args() { [[ -f "$DIR/admin/admin.crt" ]] && echo "--ca $DIR/ca/ca.crt --cert $DIR/admin/admin.crt --key $DIR/admin/admin.key"; }

build() {
  mkdir -p "$BIN"
  echo "building Memo.Node and memo (Release) into $BIN" >&2
  dotnet build -c Release -nologo -v q "$ROOT/Memo.Node/Memo.Node.csproj" -o "$BIN/node" >"$BIN/build-node.log" 2>&1 \
    || { cat "$BIN/build-node.log" >&2; exit 1; }
  dotnet build -c Release -nologo -v q "$ROOT/Memo.Cli/Memo.Cli.csproj" -o "$BIN/cli" >"$BIN/build-cli.log" 2>&1 \
    || { cat "$BIN/build-cli.log" >&2; exit 1; }
}

up() {
  local n="$1" secure="${MEMO_SECURE:-}"
  [[ "${2:-}" == "--secure" ]] && secure=1
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "up needs a node count, e.g. up 3" >&2; exit 1; }
  build
  [[ -n "$secure" ]] && certify "$n"
  # Seeds name a member's remoting endpoint (--remote), not its gRPC port.
  local seed="127.0.0.1:$REMOTE_BASE_PORT"
  for ((i = 1; i <= n; i++)); do
    local node="$DIR/node$i" port=$((BASE_PORT + i - 1)) remote=$((REMOTE_BASE_PORT + i - 1)) metrics=$((METRICS_BASE_PORT + i - 1))
    mkdir -p "$node"
    if [[ -f "$node/pid" ]] && kill -0 "$(cat "$node/pid")" 2>/dev/null; then
      echo "node $i already running (pid $(cat "$node/pid"))" >&2
      continue
    fi
    local tls=""
    [[ -n "$secure" ]] && tls="$(secure_args "$i")"
    # eval: MEMO_NODE_ARGS and the TLS options are lists of options with quoted values; exec: the pid is the node's.
    eval exec dotnet "\"$BIN/node/Memo.Node.dll\"" --listen "127.0.0.1:$port" --remote "127.0.0.1:$remote" --data "\"$node/data\"" --seed "$seed" --metrics "127.0.0.1:$metrics" $tls ${MEMO_NODE_ARGS:-} \
      >"$node/log" 2>&1 &
    echo $! >"$node/pid"
    echo "node $i: gRPC 127.0.0.1:$port, remoting 127.0.0.1:$remote, dashboard http://127.0.0.1:$metrics/ui, pid $! (log $node/log)"
    # Each node waits for the previous one's admin actor to answer (over its remoting port), so node 1 has formed the
    # cluster before others ask it.
    for _ in $(seq 1 100); do
      # shellcheck disable=SC2046 # admin_args is a list of options on purpose
      if CLI cluster show --remote "127.0.0.1:$remote" --timeout 1s $(admin_args) >/dev/null 2>&1; then break; fi
      kill -0 "$(cat "$node/pid")" 2>/dev/null || { echo "node $i exited; see $node/log" >&2; tail -n 20 "$node/log" >&2; exit 1; }
      sleep 0.2
    done
  done
  echo "memo cluster show: scripts/cluster.sh status (or dotnet $BIN/cli/memo.dll cluster show --remote $seed $(admin_args))"
  [[ -n "$secure" ]] && echo "clients: dotnet $BIN/cli/memo.dll kv get KEY --ca $DIR/ca/ca.crt" || true
}

down() {
  local pids=()
  for pidfile in "$DIR"/node*/pid; do
    [[ -f "$pidfile" ]] || continue
    local pid; pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; pids+=("$pid"); fi
    rm -f "$pidfile"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { echo "pid $pid ignored SIGTERM; killing" >&2; kill -KILL "$pid"; }
  done
  echo "stopped ${#pids[@]} node(s); data kept in $DIR"
}

status() {
  [[ -f "$BIN/cli/memo.dll" ]] || { echo "no build in $BIN; run 'up N' first" >&2; exit 1; }
  # memo cluster talks to a node's admin actor over Akka remoting, so it names node 1's remoting port, not its gRPC port.
  # shellcheck disable=SC2046 # admin_args is a list of options on purpose
  CLI cluster show --remote "127.0.0.1:$REMOTE_BASE_PORT" $(admin_args)
}

case "${1:-}" in
  up) up "${2:-3}" "${3:-}" ;;
  down) down ;;
  status) status ;;
  *) usage; exit 1 ;;
esac
