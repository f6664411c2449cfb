#!/usr/bin/env bash
# ansible-test sanity on this checkout. ansible-test wants the collection at
# ansible_collections/vacc/qwen3, so the files git knows (tracked and new, not ignored) are copied
# into such a tree under a temporary directory. shellcheck comes from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.venv/bin}
if ! command -v shellcheck >/dev/null; then
  echo "sanity: installing shellcheck (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/vacc/qwen3
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  # a deleted-but-not-yet-committed file is still in the index: copy what exists
  [ -e "$f" ] || [ -L "$f" ] || continue
  mkdir -p "$dest/$(dirname "$f")"
  cp -P "$f" "$dest/$f"
done
cd "$dest"
# ansible-test lists a collection's files through git when it has a repository: give it one.
git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity
py=$("$BIN/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$BIN/ansible-test" sanity --local --python "$py" --color no "$@"
