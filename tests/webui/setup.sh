#!/usr/bin/env bash
# What tests/webui needs: Chromium, CJK fonts (the UI defaults to zh-CN; without them every glyph is a
# box) and playwright-core in tests/webui/node_modules.
exec bash "$(dirname "$0")/../browser-setup.sh" "$(dirname "$0")" fonts-noto-cjk
