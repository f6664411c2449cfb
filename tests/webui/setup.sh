#!/usr/bin/env bash
# What tests/webui needs on this machine, and nothing more: Debian's headless Chromium, CJK fonts
# (the UI defaults to zh-CN; without them every glyph is a box), and playwright-core from npm in
# tests/webui/node_modules (no browser download: it drives /usr/bin/chromium). Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
say() { printf 'webui-setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "chromium, fonts-noto-cjk and npm present; reused"
fi

# The lockfile pins playwright-core; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: -core downloads none anyway.
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.vacc-lock; then
  say "node_modules up to date; reused"
else
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.vacc-lock
fi
say "chromium $(chromium --version 2>/dev/null | awk '{print $2}'), playwright-core $(node -p 'require("playwright-core/package.json").version')"
