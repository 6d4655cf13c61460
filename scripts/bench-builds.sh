#!/usr/bin/env bash
# Compares builds of bac-metrics on one seeded data folder, one after the other in one run, to
# tell what each change bought: for every binary given, starts it on DATA (a folder seeded by
# scripts/bench-peers.sh or bench-metrics.sh with KEEP_DATA), then measures with wrk
#   page1 / page8  the record page of bench-peers.sh (the 50 newest interactions with agent, org
#                  unit and topic) at 1 and 8 clients;
#   m12x8          the 12 months x CHANNEL `metrics` report of bench-peers.sh (8 metrics) at 8
#                  clients;
# and reports p50, requests per second and the server's peak RSS (VmHWM) per build.
# Usage: scripts/bench-builds.sh DATA SECONDS BINARY...
#   e.g. scripts/bench-builds.sh /tmp/peers-2m 10 /tmp/before/bac-metrics target/release/bac-metrics
# The server runs with the same raised per-caller limits as bench-peers.sh. Needs wrk and curl.
set -euo pipefail
data="$(realpath "$1")"
seconds="$2"
shift 2
port="${BENCH_PORT:-18095}"
export DATA_DIR="$data/data" RUST_LOG=warn BIND="127.0.0.1:$port"
export REQUESTS_PER_MINUTE_PER_SESSION=100000000 REPORTING_CONNECTIONS_PER_CALLER=3 \
  INTERACTIVE_QUEUE_TIMEOUT_MS=30000 AUTH_QUEUE_TIMEOUT_MS=30000 REPORTING_QUEUE_TIMEOUT_MS=30000
scratch="$(mktemp -d /tmp/bac-bench-builds-XXXXXX)"
chmod 700 "$scratch"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$scratch"' EXIT

# The twelve full months before the current one, as in bench-peers.sh.
read -r from to < <(python3 -c '
import datetime
today = datetime.date.today()
end = today.replace(day=1) - datetime.timedelta(days=1)
start = (end.replace(day=1) - datetime.timedelta(days=334)).replace(day=1)
print(start, end)')
page='{ interactions(last: 50) { edges { node { id channel startedAt outcome agent { email displayName } orgUnit { code name } topic { code name } } } pageInfo { startCursor hasPreviousPage } } }'
report="{ metrics(query: { metrics: [INTERACTIONS, ABANDONMENT_RATE, AVERAGE_SPEED_OF_ANSWER, SERVICE_LEVEL, AVERAGE_HANDLE_TIME, FIRST_CONTACT_RESOLUTION, CSAT, SURVEY_RESPONSE_RATE], from: \\\"$from\\\", to: \\\"$to\\\", granularity: MONTH, groupBy: [CHANNEL] }) { rows { periodLabel channel values { metric value numerator denominator lower upper } } } }"

lua() { # lua FILE TOKEN DOCUMENT
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
wrk.body = [[{"query":"$3"}]]
LUA
}

measure() { # measure CLIENTS LUA -> "p50 req/s"
  wrk -t1 -c1 -d2s -s "$2" "http://127.0.0.1:$port/graphql" >/dev/null
  local threads=$(($1 < 2 ? 1 : 2))
  local output
  output="$(wrk -t "$threads" -c "$1" -d "${seconds}s" --timeout 60s --latency -s "$2" "http://127.0.0.1:$port/graphql")"
  if grep -q 'Non-2xx\|Socket errors' <<<"$output"; then
    echo "bench-builds: a run had errors:" >&2; echo "$output" >&2; exit 1
  fi
  echo "$(awk '$1 == "50%" { print $2 }' <<<"$output") $(awk '/Requests\/sec/ { print $2 }' <<<"$output")"
}

echo "| build | page, 1 client: p50, req/s | page, 8 clients: p50, req/s | metrics 12 months, 8 clients: p50, req/s | peak RSS |"
echo "|---|---|---|---|---|"
for binary in "$@"; do
  "$binary" serve >"$scratch/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 1
  done
  token="$("$binary" token --email admin@bac.example.gov --ttl 1h)"
  lua "$scratch/page.lua" "$token" "$page"
  lua "$scratch/report.lua" "$token" "$report"
  # Each answer must be data, not errors.
  for document in page report; do
    body="$(sed -n 's/^wrk.body = \[\[\(.*\)\]\]$/\1/p' "$scratch/$document.lua")"
    answer="$(curl -fsS -X POST "http://127.0.0.1:$port/graphql" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d "$body")"
    grep -q '"errors"' <<<"$answer" && { echo "bench-builds: $document answered $answer" >&2; exit 1; }
  done
  read -r page1_p50 page1_rps < <(measure 1 "$scratch/page.lua")
  read -r page8_p50 page8_rps < <(measure 8 "$scratch/page.lua")
  read -r report_p50 report_rps < <(measure 8 "$scratch/report.lua")
  rss="$(awk '/VmHWM/ { printf "%d MB", $2 / 1024 }' "/proc/$server/status")"
  echo "| \`$binary\` | $page1_p50, $page1_rps | $page8_p50, $page8_rps | $report_p50, $report_rps | $rss |"
  kill "$server"; wait "$server" 2>/dev/null || true
  server=""
  # The private cluster stops with the server; the next one starts it again.
  for _ in $(seq 1 60); do
    [ -f "$DATA_DIR/pgdata/postmaster.pid" ] || break
    sleep 0.5
  done
done
