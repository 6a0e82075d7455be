#!/usr/bin/env bash
# Install the Debian packages the tests drive: Chromium (tests/browser, with Playwright) and nginx
# (the production profile's reverse-proxy example is started in front of two Rasa replicas in
# tests/integration). Idempotent: no-op when both are present. Playwright's own browser download is
# not used (no internet beyond the package registries).
set -euo pipefail
BROWSER=${CHROMIUM_PATH:-/usr/bin/chromium}
missing=()
[ -x "$BROWSER" ] || missing+=(chromium fonts-dejavu-core)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -eq 0 ]; then
  echo "Chromium present: $BROWSER ($("$BROWSER" --version 2>/dev/null || echo 'version unknown'))"
  echo "nginx present: $(/usr/sbin/nginx -v 2>&1 || nginx -v 2>&1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    cat >&2 <<MSG
Missing Debian packages for the tests: ${missing[*]}. Installing them needs root. Run as root:
    apt-get update && apt-get install -y ${missing[*]}
(or set CHROMIUM_PATH to an existing Chromium binary).
MSG
    exit 1
  fi
else
  SUDO=""
fi
echo "Installing Debian packages: ${missing[*]} (about 1-2 minutes)..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package may start a system nginx on port 80: the project never uses it.
if command -v service >/dev/null 2>&1; then $SUDO service nginx stop >/dev/null 2>&1 || true; fi
"$BROWSER" --version
/usr/sbin/nginx -v
