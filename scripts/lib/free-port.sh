# Sourced by the bench scripts: free_port prints a loopback TCP port nobody listens on (drawn from 20000-59999,
# checked with ss), or fails after 100 draws.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    if [[ -z "$(ss -Htln "sport = :$port" 2>/dev/null)" ]]; then
      echo "$port"
      return 0
    fi
  done
  echo "$(basename "$0"): no free port found" >&2
  return 1
}
