#!/usr/bin/env bash
# Screenshots of the hosted survey page's states (form, form with errors, thank-you, unusable
# link) in English and Spanish, on a desktop and a phone, into docs/survey/ (or OUT).
#
#   scripts/screenshot-survey.sh
#
# Starts `serve --demo` on a temporary DATA_DIR (its own private PostgreSQL) and drives headless
# Chromium with tests/web/survey-screenshots.mjs (links come from createSurveyInvitation, as an
# integration gets them). Needs what the browser tests need: Node.js with `npm ci` done in
# tests/web, `chromium`, and PostgreSQL's server binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet
binary="$PWD/target/debug/bac-metrics"
work="$(mktemp -d /tmp/bac-survey-shots-XXXXXX)"
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

BAC_URL="$url" BAC_DATA_DIR="$work/data" BAC_BIN="$binary" OUT="${OUT:-$PWD/docs/survey}" \
  node tests/web/survey-screenshots.mjs
