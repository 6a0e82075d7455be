#!/usr/bin/env bash
# Install the npm dev tools (axe-core for the browser tests) with `npm ci` when node_modules is
# missing or package-lock.json changed since the last install. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: install Node.js 18+ (for example: apt-get install -y nodejs npm)." >&2
  exit 1
fi
STAMP=node_modules/.package-lock.sha256
WANT=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "node_modules up to date."
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$WANT" > "$STAMP"
