#!/usr/bin/env bash
# Set up, then repaint the bundled photo of Tübingen in the style of The Starry Night.
# The result is out/tubingen_starry_night.png (a few minutes on a laptop CPU with the default preset).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/nst-engine run --content examples/tubingen.jpg --style examples/starry_night.jpg \
    --output out/tubingen_starry_night.png "$@"
