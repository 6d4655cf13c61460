#!/usr/bin/env bash
# Regenerates the screenshots in docs/ of GraphiQL running offline and of every web front page
# (sign-in, sign-in error, quarters, report, 403), from `serve --demo` in headless Chromium.
#
#   scripts/screenshots.sh [OUTPUT_DIR]     (default docs/)
#
# Starts the demo on a free port with a temporary DATA_DIR (its own private PostgreSQL) and runs
# tests/web/screenshots.mjs against it. Needs what `node tests/web/run.mjs` needs: Node.js,
# `chromium` (Debian: apt-get install chromium) and PostgreSQL's server binaries; installs the
# browser-test packages (tests/web, pinned in its package-lock.json) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
output="$(realpath -m "${1:-docs}")"

cargo build --quiet
[ -d tests/web/node_modules ] || (cd tests/web && npm ci --no-audit --no-fund --silent)
binary="$PWD/target/debug/bac-metrics"
work="$(mktemp -d /tmp/bac-screenshots-XXXXXX)"
chmod 755 "$work"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT

DATA_DIR="$work/data" BIND=127.0.0.1:0 RUST_LOG=warn "$binary" serve --demo >"$work/serve.log" 2>&1 &
server=$!
url=""
for _ in $(seq 1 180); do
  url="$(sed -n 's/^ *GraphiQL: \(http[^ ]*\)\/graphql$/\1/p' "$work/serve.log" | head -n 1)"
  [ -n "$url" ] && break
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.log" >&2; exit 1; fi
  sleep 1
done
[ -n "$url" ] || { cat "$work/serve.log" >&2; echo "the demo server did not start" >&2; exit 1; }

BAC_URL="$url" BAC_DATA_DIR="$work/data" BAC_BIN="$binary" node tests/web/screenshots.mjs "$output"
