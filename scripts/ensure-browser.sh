#!/usr/bin/env bash
# Make sure a Chromium-family browser is available for Playwright, and print which.
# Order: $CHORUS_BOT_BROWSER -> Playwright's own Chromium (no download) -> system
# chromium/chrome on PATH -> apt-get install chromium (root only) ->
# `.venv/bin/playwright install chromium` -> fail with instructions.
set -euo pipefail
cd "$(dirname "$0")/.."

VPY=.venv/bin/python
say() { echo "ensure-browser: $*"; }
die() { echo "ensure-browser: ERROR: $*" >&2; exit 1; }

# 1. Explicit override.
if [[ -n "${CHORUS_BOT_BROWSER:-}" ]]; then
    [[ -f "$CHORUS_BOT_BROWSER" && -x "$CHORUS_BOT_BROWSER" ]] \
        || die "CHORUS_BOT_BROWSER=$CHORUS_BOT_BROWSER is not an executable file"
    say "using \$CHORUS_BOT_BROWSER ($CHORUS_BOT_BROWSER)"
    exit 0
fi

# 2. Playwright's bundled Chromium, if already installed (executable_path only
#    reports where it would be; it never downloads).
playwright_chromium() {
    [[ -x "$VPY" ]] || return 1
    "$VPY" - <<'PY' 2>/dev/null
import os, sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    path = p.chromium.executable_path
if not (path and os.path.isfile(path) and os.access(path, os.X_OK)):
    sys.exit(1)
print(path)
PY
}

# 3. System browser on PATH.
system_chromium() {
    local name
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    done
    return 1
}

if path=$(playwright_chromium); then
    say "using Playwright's Chromium ($path)"; exit 0
fi
if path=$(system_chromium); then
    say "using system browser ($path)"; exit 0
fi

# 4. Install one.
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "no browser found; installing Debian chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || { sleep 5; apt-get update -qq; }
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
    path=$(system_chromium) || die "apt-get installed chromium but it is not on PATH"
    say "using system browser ($path)"; exit 0
fi

if [[ -x .venv/bin/playwright ]]; then
    say "no browser found; trying 'playwright install chromium'"
    if .venv/bin/playwright install chromium >/dev/null 2>&1 && path=$(playwright_chromium); then
        say "using Playwright's Chromium ($path)"; exit 0
    fi
fi

die "no Chromium/Chrome found. Install one (Debian/Ubuntu: 'sudo apt-get install chromium'
  (Ubuntu: chromium-browser), Fedora: 'sudo dnf install chromium'), or run
  '.venv/bin/playwright install chromium', or set CHORUS_BOT_BROWSER=/path/to/chrome."
