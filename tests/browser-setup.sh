#!/usr/bin/env bash
# What a browser test needs on this machine, and nothing more: Debian's headless Chromium (plus the
# Debian packages given after the directory) and playwright-core from npm in DIR/node_modules, pinned by
# DIR/package-lock.json (no browser download: it drives /usr/bin/chromium). Idempotent.
#   bash tests/browser-setup.sh DIR [DEBIAN_PACKAGE...]
set -euo pipefail
dir=${1:?usage: browser-setup.sh DIR [DEBIAN_PACKAGE...]}
shift
cd "$dir"
name=$(basename "$PWD")
say() { printf '%s-setup: %s\n' "$name" "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "chromium, npm${*:+ and $*} present; reused"
fi

# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: -core downloads none anyway.
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.vacc-lock; then
  say "node_modules up to date; reused"
else
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.vacc-lock
fi
say "chromium $(chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $(node -p 'require("playwright-core/package.json").version')"
