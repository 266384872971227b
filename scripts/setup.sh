#!/usr/bin/env bash
# Set up the engine on a Debian/Ubuntu machine with python3: a virtual environment in .venv with the
# engine and its test tools, and the verified VGG19 weights in Keras' cache. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "==> installing python3-venv (Debian's python3 ships without it)"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    python3 -m venv .venv
fi
echo "==> installing the engine and its dependencies into .venv (TensorFlow is large: first time takes a while)"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
echo "==> fetching the VGG19 weights (verified by SHA-256)"
.venv/bin/nst-engine weights fetch
