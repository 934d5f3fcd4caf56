#!/usr/bin/env bash
# The project's test command: restore, build, run every test project (unit, simulator, in-process
# clusters, node processes, gRPC interop with @grpc/grpc-js), and print one summary line:
#   tests: N passed, M failed[, K skipped]
# Exits non-zero on any failure. Usage: scripts/test.sh [extra dotnet test args, e.g. --filter ...]
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The interop test drives the node with Node's @grpc/grpc-js; install it when npm is there.
if [ -f tests/interop/package.json ] && command -v npm >/dev/null 2>&1; then
  (cd tests/interop && npm install --no-audit --no-fund --silent >/dev/null 2>&1) || echo "warning: npm install in tests/interop failed; the interop test will fail" >&2
fi

dotnet restore Memo.Akka.sln || { echo "tests: 0 passed, 1 failed"; exit 1; }
dotnet build Memo.Akka.sln -c Release --no-restore -warnaserror || { echo "tests: 0 passed, 1 failed"; exit 1; }

status=0
for project in tests/*.Tests/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "== $name"
  dotnet test "$project" -c Release --no-build \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --logger "console;verbosity=normal" "$@" || status=1
done

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  p=$(get passed); f=$(get failed); e=$(get error); t=$(get total); x=$(get executed)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
  skipped=$((skipped + ${t:-0} - ${x:-0}))
done
# A test project that crashed before writing results counts as a failure.
expected=$(ls tests/*.Tests/*.csproj | wc -l)
if [ "$files" -lt "$expected" ]; then failed=$((failed + expected - files)); status=1; fi
if [ "$failed" -gt 0 ]; then status=1; fi

# Figures that tests log for people (not assertions): e.g. the 100,000-key test's throughput per tenth.
grep -h -o -E '(inserted [0-9]+ keys[^<]*|inserts/s per tenth:[^<]*|last tenth / first tenth[^<]*|acknowledged [0-9]+ upserts[^<]*)' "$results"/*.trx 2>/dev/null | sed 's/^/  figure: /'

# Name every failed test next to the summary, with the first lines of its message, so a CI log that keeps only its
# tail still says what broke and why.
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  awk '
    /<UnitTestResult / && /outcome="Failed"/ { failed = 1; match($0, /testName="[^"]*"/); print "  failed: " substr($0, RSTART + 10, RLENGTH - 11) }
    failed && /<Message>/ { inmsg = 1; shown = 0; sub(/.*<Message>/, "") }
    inmsg {
      done = sub(/<\/Message>.*/, "")
      gsub(/&lt;/, "<"); gsub(/&gt;/, ">"); gsub(/&quot;/, "\""); gsub(/&apos;/, "\047"); gsub(/&amp;/, "\\&")
      if (shown < 12) { print "    " $0; shown++ }
      if (done) { inmsg = 0; trace = 1; frames = 0 }
    }
    # The first frames in our own code say where it broke (the message alone may not, e.g. "Sequence contains no
    # matching element").
    trace && /at Memo\./ && frames < 4 {
      frame = $0; sub(/^[ \t]*(<StackTrace>)?[ \t]*/, "", frame); sub(/<\/StackTrace>.*/, "", frame)
      sub(/ in .*\//, " in ", frame); gsub(/&lt;/, "<", frame); gsub(/&gt;/, ">", frame); gsub(/&amp;/, "\\&", frame)
      print "      " frame; frames++
    }
    trace && /<\/StackTrace>|<\/UnitTestResult>/ { trace = 0; failed = 0 }
  ' "$trx"
done

line="tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
exit $status
