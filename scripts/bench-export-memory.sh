#!/usr/bin/env bash
# Server memory while one client downloads the largest record export: starts the release server
# on a dataset seeded by scripts/bench-mixed.sh (KEEP_DATA), downloads
# /export/interactions.csv for every date as an admin, and samples the server's RSS (VmRSS)
# every 250 ms. The export streams from the database, so the peak should not grow with the rows.
#
# Usage: scripts/bench-export-memory.sh DATASET_DIR [FROM] [TO]
#   e.g. KEEP_DATA=/tmp/bac-mixed-2m scripts/bench-mixed.sh 2000000 60   (seeds once)
#        scripts/bench-export-memory.sh /tmp/bac-mixed-2m
#   BENCH_PORT  server port (default 18095)
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:?usage: scripts/bench-export-memory.sh DATASET_DIR [FROM] [TO]}"
from="${2:-2000-01-01}"
to="${3:-2099-12-31}"
port="${BENCH_PORT:-18095}"
[ -d "$dataset/data" ] || { echo "no seeded dataset in $dataset/data (run scripts/bench-mixed.sh with KEEP_DATA first)" >&2; exit 1; }
cargo build --release --quiet
binary="${CARGO_TARGET_DIR:-$PWD/target}/release/bac-metrics"
export DATA_DIR="$dataset/data" RUST_LOG=warn BIND="127.0.0.1:$port"
scratch="$(mktemp -d /tmp/bac-export-memory-XXXXXX)"
"$binary" serve >"$scratch/serve.log" 2>&1 &
server=$!
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { tail -n 20 "$scratch/serve.log" >&2; exit 1; }
  sleep 0.5
done
token="$("$binary" token --email admin@bac.example.gov --ttl 1h)"
rss() { awk '/VmRSS/{print $2}' "/proc/$server/status"; }
(
  peak=0
  while kill -0 "$server" 2>/dev/null; do
    now="$(rss)"; [ "$now" -gt "$peak" ] && peak="$now"; echo "$peak" >"$scratch/peak"; sleep 0.25
  done
) &
sampler=$!
before="$(rss)"
transfer="$(curl -s -H "Authorization: Bearer $token" -o "$scratch/export.csv" \
  -w '%{http_code} %{size_download} %{time_total}' \
  "http://127.0.0.1:$port/export/interactions.csv?from=$from&to=$to")"
sleep 0.5
read -r status bytes seconds <<<"$transfer"
rows=$(( $(wc -l <"$scratch/export.csv") - 1 ))
printf '| %s | %s | HTTP %s | %s rows | %s MB | %s s | %s MB | %s MB | %s MB |\n' \
  "$(date -u +%F)" "$(git rev-parse --short HEAD)" "$status" "$rows" "$((bytes / 1000000))" "$seconds" \
  "$((before / 1024))" "$(( $(cat "$scratch/peak") / 1024 ))" "$(( $(rss) / 1024 ))"
