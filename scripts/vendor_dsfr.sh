#!/usr/bin/env bash
# Vendor the French state's design system (DSFR, npm package @gouvfr/dsfr pinned in package.json)
# into feedback_store/portal/static/dsfr/, served by the portal under /static/dsfr/.
# Copies only what the dashboard uses: the minified CSS and JS, the Marianne fonts, the icons,
# the favicons and the utility classes (fr-icon-*). Idempotent: the folder is rebuilt each time.
# The target folder is generated (gitignored); run scripts/install_node_deps.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=node_modules/@gouvfr/dsfr
DEST=feedback_store/portal/static/dsfr
if [ ! -f "$SRC/dist/dsfr.min.css" ]; then
  echo "$SRC is missing: run scripts/install_node_deps.sh first." >&2
  exit 1
fi
VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$SRC/package.json" | head -n1)
if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$VERSION" ] \
  && [ -f "$DEST/dsfr.min.css" ] && [ -f "$DEST/utility/utility.min.css" ]; then
  echo "DSFR $VERSION already vendored in $DEST."
  exit 0
fi
mkdir -p "${DEST%/*}"
TMP=$(mktemp -d "${DEST%/*}/.dsfr.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
for file in dsfr.min.css dsfr.module.min.js dsfr.nomodule.min.js; do
  cp "$SRC/dist/$file" "$TMP/"
done
for folder in fonts icons favicon; do
  cp -R "$SRC/dist/$folder" "$TMP/"
done
mkdir -p "$TMP/utility"
cp "$SRC/dist/utility/utility.min.css" "$TMP/utility/"  # refers to ../icons/
cp "$SRC/LICENSE.md" "$TMP/" 2>/dev/null || true
echo "$VERSION" > "$TMP/VERSION"
rm -rf "$DEST"
mv "$TMP" "$DEST"
chmod 755 "$DEST"
trap - EXIT
echo "DSFR $VERSION vendored in $DEST ($(du -sh "$DEST" | cut -f1))."
