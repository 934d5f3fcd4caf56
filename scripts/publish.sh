#!/usr/bin/env bash
# Makes everything people install, into artifacts/ (or --out DIR):
#   DIR/packages/memo.<version>.nupkg               the CLI as a dotnet tool:
#                                                    dotnet tool install -g memo --add-source DIR/packages
#   DIR/packages/Memo.Protocol.<version>.nupkg      contracts + MemoClient (README, XML docs, .proto files)
#   DIR/packages/Memo.Client.Akka.<version>.nupkg   MemoClientActor for Akka.NET apps (README, XML docs)
#   DIR/node/<rid>/                                  the node, self-contained (no .NET install needed): ./Memo.Node
#   DIR/node/memo-node-<version>-<rid>.tar.gz        the same folder as one archive
# Usage: scripts/publish.sh [--out DIR] [--rid RID (default linux-x64)] [--packages-only] [--no-build]
#   --no-build packs what `dotnet build -c Release` already built (the install test uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts
rid=linux-x64
node=1
build=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --rid) rid=$2; shift 2 ;;
    --packages-only) node=0; shift ;;
    --no-build) build=(--no-build); shift ;;
    *) echo "usage: scripts/publish.sh [--out DIR] [--rid RID] [--packages-only] [--no-build]" >&2; exit 1 ;;
  esac
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p "$out/packages"
out=$(cd "$out" && pwd)

for project in Memo.Cli/Memo.Cli.csproj Memo.Protocol/Memo.Protocol.csproj Memo.Client.Akka/Memo.Client.Akka.csproj; do
  dotnet pack "$project" -c Release "${build[@]}" -o "$out/packages" -nologo -v quiet
done

if [ "$node" = 1 ]; then
  rm -rf "$out/node/$rid"
  dotnet publish Memo.Node/Memo.Node.csproj -c Release -r "$rid" --self-contained -o "$out/node/$rid" -nologo -v quiet
  version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
  tar -C "$out/node" -czf "$out/node/memo-node-$version-$rid.tar.gz" "$rid"
fi

echo "published into $out:"
(cd "$out" && ls -1 packages/*.nupkg; [ "$node" = 1 ] && ls -1 node/*.tar.gz || true)
