#!/usr/bin/env bash
# Installs the js-libp2p peer for the benchmarks from the npm registry, exactly as locked.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "node and npm are needed for the js-libp2p peer (Node 20 or later)" >&2
    exit 1
fi
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi
