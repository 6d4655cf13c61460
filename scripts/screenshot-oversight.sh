#!/usr/bin/env bash
# Renders the printable quarterly oversight report of the demo data in headless Chromium and
# saves a screenshot (default docs/oversight-report.png).
#
#   scripts/screenshot-oversight.sh [FISCAL_YEAR QUARTER] [OUTPUT.png]
#
# Starts `serve --demo` on a temporary DATA_DIR (its own private PostgreSQL), mints an auditor
# token, fetches /reports/oversight with curl (Chromium cannot send a bearer header from the
# command line) and screenshots the saved file:// copy — which also proves the page needs
# nothing but itself. Installs nothing: it needs `chromium` (Debian: apt-get install chromium),
# `curl`, and PostgreSQL's server binaries, like `serve --demo` does. Without a fiscal quarter it
# takes the current one (FISCAL_YEAR_START_MONTH, default 7), which the demo's last 90 days
# cover at least in part.
set -euo pipefail
cd "$(dirname "$0")/.."

start_month="${FISCAL_YEAR_START_MONTH:-7}"
if [ "$#" -ge 2 ]; then
  fiscal_year="$1"; quarter="$2"; shift 2
else
  year="$(date -u +%Y)"; month="$((10#$(date -u +%m)))"
  if [ "$start_month" -gt 1 ] && [ "$month" -ge "$start_month" ]; then
    fiscal_year="$((year + 1))"
  else
    fiscal_year="$year"
  fi
  quarter="$(( (month + 12 - start_month) % 12 / 3 + 1 ))"
fi
output="${1:-docs/oversight-report.png}"

browser=""
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then browser="$candidate"; break; fi
done
if [ -z "$browser" ]; then
  echo "no chromium found: install it first (Debian: apt-get install chromium)" >&2
  exit 1
fi

cargo build --quiet
binary="$PWD/target/debug/bac-metrics"
work="$(mktemp -d /tmp/bac-oversight-XXXXXX)"
chmod 755 "$work"
port="${OVERSIGHT_PORT:-18091}"
export DATA_DIR="$work/data" RUST_LOG=warn BIND="127.0.0.1:$port"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$binary" serve --demo >"$work/serve.log" 2>&1 &
server=$!
# The first start seeds the demo data, which takes a little while.
for _ in $(seq 1 180); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.log" >&2; exit 1; fi
  sleep 1
done
for _ in $(seq 1 180); do
  grep -q "demo is running" "$work/serve.log" && break
  sleep 1
done
token="$("$binary" token --email auditor@bac.example.gov --ttl 10m)"

page="$work/oversight.html"
curl -fsS -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$port/reports/oversight?fiscalYear=$fiscal_year&quarter=$quarter" -o "$page"

"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d "$work/profile-XXXXXX")" --hide-scrollbars \
  --screenshot="$work/oversight.png" --window-size=1280,2000 "file://$page" >/dev/null 2>&1

mkdir -p "$(dirname "$output")"
cp "$work/oversight.png" "$output"
echo "FY$fiscal_year-Q$quarter rendered to $output ($(wc -c <"$output") bytes)"
