#!/usr/bin/env bash
# What tests/monitoring's browser check needs: Chromium and playwright-core in
# tests/monitoring/node_modules (the fleet page needs no CJK fonts).
exec bash "$(dirname "$0")/../browser-setup.sh" "$(dirname "$0")"
