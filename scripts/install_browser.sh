#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/browser). Idempotent: no-op when present.
# Playwright's own browser download is not used (no internet beyond the package registries).
set -euo pipefail
BROWSER=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ -x "$BROWSER" ]; then
  echo "Chromium present: $BROWSER ($("$BROWSER" --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    cat >&2 <<MSG
Chromium is missing ($BROWSER) and installing it needs root. Run as root:
    apt-get update && apt-get install -y chromium
or set CHROMIUM_PATH to an existing Chromium binary.
MSG
    exit 1
  fi
else
  SUDO=""
fi
echo "Installing Debian's chromium package (about 1-2 minutes)..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
"$BROWSER" --version
