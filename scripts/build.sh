#!/usr/bin/env bash
# Build the collection artifact: scripts/build.sh BIN OUTDIR  (BIN: the bin/ of a venv with ansible-core
# and distlib, which galaxy.yml's manifest needs). Only files git knows (tracked, and new ones not
# ignored) are copied to a staging tree first, so nothing that merely lies in the checkout (caches, a
# vault file, results) can reach the tarball; galaxy.yml's manifest then picks what ships from those.
# Prints the artifact's path.
set -euo pipefail
bin=${1:?usage: build.sh BIN OUTDIR}
out=${2:?usage: build.sh BIN OUTDIR}
cd "$(dirname "$0")/.."
bin=$(cd "$bin" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  # a file deleted but not yet committed is still in the index: copy what exists
  [ -e "$f" ] || [ -L "$f" ] || continue
  mkdir -p "$stage/$(dirname "$f")"
  cp -P "$f" "$stage/$f"
done
version=$(sed -n 's/^version: *//p' galaxy.yml)
rm -f "$out/vacc-qwen3-$version.tar.gz"
(cd "$stage" && "$bin/ansible-galaxy" collection build --force --output-path "$out" >/dev/null)
echo "$out/vacc-qwen3-$version.tar.gz"
