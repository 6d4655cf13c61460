#!/usr/bin/env bash
# The mixed-load benchmark of issue 10: 16 interactive clients (interactions pages, `me`, the
# 12-month × CHANNEL metrics query) against 4 hostile clients (aliased reports, maximal exports,
# a login flood, bad tokens), all at once, on a synthetic dataset (default 2,000,000
# interactions), release build, private PostgreSQL cluster. The load generator is the bench
# target `benches/mixed_load.rs`; this script builds both, seeds, starts `serve`, mints one
# token per client, samples the server's RSS every 250 ms, counts `audit_events` before and
# after, and prints a markdown report (also appended to $RESULTS when set).
#
# Usage: scripts/bench-mixed.sh [INTERACTIONS] [SECONDS]
#   KEEP_DATA=DIR   seed into DIR once and reuse it (one dataset size per DIR)
#   BENCH_PORT      server port (default 18091; 8080 is left alone)
#   BASELINE        seconds of interactive-only load first, reported apart (default 10; 0 = none)
#   ATTACKS         aliases,exports,logins,tokens (default: all), or none
#   CLIENTS THINK_MS MIX TIMEOUT_MS   interactive clients (16), think time (20), page/me/metrics
#                   percentages (50,25,25), per-request timeout (10000)
#   LOGIN_EMAIL     the account the login flood guesses at (default admin@bac.example.gov)
#   EXPORT_QUERY    query string of the export attack instead of the largest one, e.g.
#                   "metrics=INTERACTIONS,CSAT&from=2025-01-01&to=2025-12-31&granularity=DAY&groupBy=AGENT"
#   SERVE_ENV       extra environment for the server only, e.g. "DATABASE_POOL_SIZE=20"
#                   (the server also inherits this script's environment)
#   RESULTS=FILE    append the report to FILE
#   LABEL           a name for the run in the report (default: before/after is up to you)
set -euo pipefail
cd "$(dirname "$0")/.."
interactions="${1:-2000000}"
seconds="${2:-60}"
baseline="${BASELINE:-10}"
port="${BENCH_PORT:-18091}"
label="${LABEL:-mixed load}"
# The exact command, with the knobs that were set, for the report.
command_line=""
for knob in KEEP_DATA BENCH_PORT BASELINE ATTACKS CLIENTS THINK_MS MIX TIMEOUT_MS LOGIN_EMAIL EXPORT_QUERY SERVE_ENV LABEL; do
  [ -n "${!knob:-}" ] && command_line+="$knob=$(printf '%q' "${!knob}") "
done
command_line+="$(printf '%q ' "$0" "$@")"
command_line="${command_line% }"

cargo build --release --quiet
# The bench executable's name carries a hash: ask cargo for it.
generator="$(cargo bench --bench mixed_load --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*mixed_load[^"]*\)".*/\1/p' | tail -n 1)"
[ -x "$generator" ] || { echo "could not find the mixed_load bench executable" >&2; exit 1; }
binary="${CARGO_TARGET_DIR:-$PWD/target}/release/bac-metrics"

if [ -n "${KEEP_DATA:-}" ]; then
  work="$KEEP_DATA"; mkdir -p "$work"; cleanup_work=""
else
  work="$(mktemp -d /tmp/bac-bench-mixed-XXXXXX)"; cleanup_work="$work"
fi
chmod 755 "$work"
run="$(mktemp -d "$work/run-XXXXXX")"
export DATA_DIR="$work/data" RUST_LOG="${RUST_LOG:-warn}" BIND="127.0.0.1:$port"

server="" sampler="" generator_pid=""
# Stops what this script started, by process id: the load generator, the RSS sampler, then the
# server (which stops
# the PostgreSQL it started; its watchdog does so too if it dies), then, if the cluster is still
# up after that, its postmaster.
cleanup() {
  set +e
  [ -n "$generator_pid" ] && kill "$generator_pid" 2>/dev/null
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    echo "stopping the server (it lets in-flight requests finish) and its PostgreSQL" >&2
    kill -TERM "$server" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$server" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server" 2>/dev/null
  fi
  wait 2>/dev/null
  local pidfile="$DATA_DIR/pgdata/postmaster.pid"
  for _ in $(seq 1 50); do [ -f "$pidfile" ] || break; sleep 0.2; done
  if [ -f "$pidfile" ]; then
    local postmaster; postmaster="$(head -n 1 "$pidfile")"
    [ -n "$postmaster" ] && kill -INT "$postmaster" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$postmaster" 2>/dev/null || break; sleep 0.2; done
  fi
  # The server's log of the last run stays with a kept dataset (what an INTERNAL was, say).
  if [ -n "$cleanup_work" ]; then rm -rf "$cleanup_work"; else cp "$run/serve.log" "$work/serve-last.log" 2>/dev/null; rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One dataset per folder: a second seed of another size would mix two organisations.
for marker in "$work"/seeded-*; do
  if [ -e "$marker" ] && [ "$marker" != "$work/seeded-$interactions" ]; then
    echo "$work already holds ${marker##*/seeded-} interactions; use another KEEP_DATA" >&2
    exit 1
  fi
done
if [ ! -f "$work/seeded-$interactions" ]; then
  echo "seeding $interactions interactions into $DATA_DIR"
  /usr/bin/time -f "seed: %e s, peak %M KB" "$binary" seed --interactions "$interactions" --seed 1 | tail -n 4
  touch "$work/seeded-$interactions"
fi

# The server owns the cluster from here on; every later command joins it.
# shellcheck disable=SC2086  # SERVE_ENV is a list of words on purpose
env ${SERVE_ENV:-} "$binary" serve >"$run/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "serve exited:" >&2; tail -n 20 "$run/serve.log" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null

socket_dir="$(sed -n "s/^unix_socket_directories = '\(.*\)'$/\1/p" "$DATA_DIR/pgdata/bac-metrics.conf")"
psql_q() { psql -h "$socket_dir" -U bac_metrics -d bac_metrics -X -q -At -c "$1"; }

# Each client is a principal of its own, so a per-principal limit charges the attacker only:
# 16 interactive users, an agent and a supervisor for the aliased reports, and a second
# administrator (a service account created here once) for the exports, since the seed has one.
exporter="bench.exporter@bac.example.gov"
if [ -z "$(psql_q "SELECT 1 FROM users WHERE email = '$exporter'")" ]; then
  "$binary" user add --email "$exporter" --role admin --org-unit BAC --display-name "Bench exporter" >/dev/null
fi
interactive_users=(admin@bac.example.gov analyst@bac.example.gov
  supervisor.north@bac.example.gov supervisor.south@bac.example.gov)
for team in north.phone north.digital south.phone south.walkin central.contact central.mail; do
  for number in 1 2; do interactive_users+=("agent.$team.$number@bac.example.gov"); done
done
{
  for email in "${interactive_users[@]}"; do
    echo "interactive $email $("$binary" token --email "$email" --ttl 2h)"
  done
  echo "aliases-agent agent.north.phone.3@bac.example.gov $("$binary" token --email agent.north.phone.3@bac.example.gov --ttl 2h)"
  echo "aliases-supervisor supervisor.central@bac.example.gov $("$binary" token --email supervisor.central@bac.example.gov --ttl 2h)"
  echo "exports $exporter $("$binary" token --email "$exporter" --ttl 2h)"
  echo "tampered auditor@bac.example.gov $("$binary" token --email auditor@bac.example.gov --ttl 2h)"
} >"$run/tokens.txt"

generator_args=(--url "http://127.0.0.1:$port" --tokens "$run/tokens.txt"
  --clients "${CLIENTS:-16}" --think-ms "${THINK_MS:-20}" --mix "${MIX:-50,25,25}"
  --timeout-ms "${TIMEOUT_MS:-10000}" --login-email "${LOGIN_EMAIL:-admin@bac.example.gov}"
  --training-org-unit BAC-CENTRAL)
[ -n "${EXPORT_QUERY:-}" ] && generator_args+=(--export-query "$EXPORT_QUERY")

# The generator runs in the background and is waited for, so that a signal to this script
# (Ctrl-C, timeout(1)) runs the cleanup at once rather than after the run.
if [ "$baseline" -gt 0 ]; then
  echo "baseline: $baseline s of interactive load alone"
  "$generator" "${generator_args[@]}" --attacks none --duration "$baseline" --window-secs 5 \
    --label "baseline (no attacks)" >"$run/baseline.md" &
  generator_pid=$!
  wait "$generator_pid"
  generator_pid=""
fi

# Both read nothing (and say 0) once the server is gone, so that a crash still gets a report.
rss_kb() { local key value _; { while read -r key value _; do [ "$key" = VmRSS: ] && { echo "$value"; return; }; done <"/proc/$server/status"; } 2>/dev/null; echo 0; }
cpu_ticks() { local _ utime=0 stime=0; read -r _ _ _ _ _ _ _ _ _ _ _ _ _ utime stime _ 2>/dev/null <"/proc/$server/stat"; echo $((utime + stime)); }
# Busy and total jiffies of the whole machine (every process, not only ours).
machine_ticks() { local _ user nice system idle iowait irq softirq steal; read -r _ user nice system idle iowait irq softirq steal _ </proc/stat; echo "$((user + nice + system + irq + softirq + steal)) $((user + nice + system + idle + iowait + irq + softirq + steal))"; }

IFS='|' read -r audit_before audit_max_id <<<"$(psql_q "SELECT count(*), coalesce(max(id), 0) FROM audit_events")"
rss_start="$(rss_kb)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
server_ticks_before="$(cpu_ticks)"
read -r busy_before total_before <<<"$(machine_ticks)"
( while kill -0 "$server" 2>/dev/null; do echo "$EPOCHREALTIME $(rss_kb)"; sleep 0.25; done ) >"$run/rss.log" 2>/dev/null &
sampler=$!

echo "mixed load: $seconds s, attacks ${ATTACKS:-aliases,exports,logins,tokens}"
"$generator" "${generator_args[@]}" --attacks "${ATTACKS:-aliases,exports,logins,tokens}" \
  --duration "$seconds" --label "$label" --summary "$run/summary.txt" >"$run/mixed.md" &
generator_pid=$!
wait "$generator_pid"
generator_pid=""

read -r busy_after total_after <<<"$(machine_ticks)"
server_alive=yes; kill -0 "$server" 2>/dev/null || server_alive=""
server_ticks_after="$(cpu_ticks)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
# Let abandoned hostile requests finish (or not) before the final sample.
sleep 2
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; sampler=""
rss_final="$(rss_kb)"
# One statement, so the count and its breakdown see the same rows: abandoned hostile requests
# (an aliased login document) can still be adding rows.
IFS='|' read -r audit_after audit_actions <<<"$(psql_q "SELECT (SELECT count(*) FROM audit_events),
  (SELECT string_agg(action || ' ×' || n, ', ' ORDER BY n DESC)
   FROM (SELECT action, count(*) AS n FROM audit_events WHERE id > $audit_max_id GROUP BY action) a)")"
# What the server logged at WARN and ERROR over the whole run, by message, most frequent first.
server_log="$( { sed 's/\x1b\[[0-9;]*m//g' "$run/serve.log" | grep -E '(WARN|ERROR)' \
  | sed -E 's/^[0-9]{4}-[0-9T:.Z+-]+ +//' | cut -c1-200 | sort | uniq -c | sort -rn | head -n 6 \
  | awk '{ count = $1; $1 = ""; printf "- ×%s:%s\n", count, $0 }'; } || true)"
rss_max="$(awk 'NF == 2 && $2 > max { max = $2 } END { print max + 0 }' "$run/rss.log")"
samples="$(awk 'NF == 2' "$run/rss.log" | wc -l)"

value() { sed -n "s/^$1=//p" "$run/summary.txt"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.0f MB", kb / 1024 }'; }
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "**not met**"; fi; }
errors="$(value interactive_errors)"; requests="$(value interactive_requests)"; p99="$(value interactive_p99_ms)"
hz="$(getconf CLK_TCK)"
server_cpu="$(awk -v t=$((server_ticks_after - server_ticks_before)) -v hz="$hz" -v s="$seconds" 'BEGIN { printf "%.0f%%", 100 * t / hz / s }')"
machine_busy="$(awk -v b=$((busy_after - busy_before)) -v t=$((total_after - total_before)) 'BEGIN { printf "%.0f%%", t ? 100 * b / t : 0 }')"
generator_cpu="$(awk -v c="$(value generator_cpu_seconds)" -v d="$seconds" 'BEGIN { printf "%.0f%%", 100 * c / d }')"

{
  echo "### $label: $(date +%F), $interactions interactions, $seconds s"
  echo
  echo "\`$command_line\`"
  echo
  echo "Commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src migrations || echo ' (with uncommitted changes)'), release build; $(nproc) cores;" \
    "load average $load_before before the mixed phase, $load_after after; machine CPU busy during it:" \
    "$machine_busy of all cores (every process), the server process $server_cpu of one core, the load generator $generator_cpu of one core."
  echo
  echo "| check | measured | target | |"
  echo "|---|---|---|---|"
  echo "| interactive errors | $errors of $requests requests$( [ "$errors" = 0 ] || echo " ($(value interactive_error_kinds))") | 0 | $(verdict "$([ "$errors" = 0 ] && echo 1)") |"
  echo "| interactive p99 | $p99 ms (p50 $(value interactive_p50_ms) ms, max $(value interactive_max_ms) ms, $(value interactive_rps) req/s) | ≤ 250 ms | $(verdict "$(awk -v p="$p99" 'BEGIN { print (p <= 250) }')") |"
  echo "| server RSS, max of $samples samples (250 ms) in the mixed phase | $(mb "$rss_max") (before it $(mb "$rss_start"), 2 s after it $(mb "$rss_final")) | ≤ 300 MB | $(verdict "$(awk -v m="$rss_max" 'BEGIN { print (m <= 300 * 1024) }')") |"
  echo "| \`audit_events\` rows, 2 s after the run | $audit_before → $audit_after (+$((audit_after - audit_before))${audit_actions:+: $audit_actions}) | no unbounded growth from anonymous requests | |"
  [ -n "$server_alive" ] || echo "| server process | **exited during the run** (see \`serve.log\`) | alive | **not met** |"
  echo
  [ -f "$run/baseline.md" ] && { cat "$run/baseline.md"; echo; }
  cat "$run/mixed.md"
  echo
  echo "Server log, WARN and ERROR lines of the whole run by message:"
  echo
  echo "${server_log:-- none}"
} >"$run/report.md"

cat "$run/report.md"
if [ -n "${RESULTS:-}" ]; then
  { echo; cat "$run/report.md"; } >>"$RESULTS"
  echo "(appended to $RESULTS)"
fi
