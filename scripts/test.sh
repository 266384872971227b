#!/usr/bin/env bash
# Set up everything the tests need (the engine, the weights, Krita from Debian), then run them all.
# Tests that need the real weights, Krita or PyQt6 fail rather than skip here (NST_REQUIRE_WEIGHTS=1,
# NST_REQUIRE_KRITA=1, NST_REQUIRE_PYQT6=1).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v kritarunner >/dev/null || missing+=(krita)
/usr/bin/python3 -c 'import PyQt5' 2>/dev/null || missing+=(python3-pyqt5)
command -v xvfb-run >/dev/null || missing+=(xvfb xauth)
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]} from Debian"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash scripts/setup.sh
echo "==> running the tests"
NST_REQUIRE_WEIGHTS=1 NST_REQUIRE_KRITA=1 NST_REQUIRE_PYQT6=1 .venv/bin/python -m pytest -ra "$@"
