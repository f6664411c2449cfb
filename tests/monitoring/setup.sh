#!/usr/bin/env bash
# What tests/monitoring's browser check needs, and nothing more: Debian's headless Chromium and
# playwright-core from npm in tests/monitoring/node_modules (no browser download: it drives
# /usr/bin/chromium). The same way as tests/webui/setup.sh; the fleet page needs no CJK fonts. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
say() { printf 'monitoring-setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "chromium and npm present; reused"
fi

# The lockfile pins playwright-core; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: -core downloads none anyway.
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.vacc-lock; then
  say "node_modules up to date; reused"
else
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.vacc-lock
fi
say "chromium $(chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $(node -p 'require("playwright-core/package.json").version')"
