#!/usr/bin/env bash
# Benchmarks the `metrics` query over HTTP on a synthetic dataset (default 2,000,000
# interactions), release build, private PostgreSQL cluster:
#   (a) 12 months × CHANNEL: INTERACTIONS, ABANDONMENT_RATE, AVERAGE_SPEED_OF_ANSWER,
#       SERVICE_LEVEL, AVERAGE_HANDLE_TIME, FIRST_CONTACT_RESOLUTION, CSAT, SURVEY_RESPONSE_RATE
#   (b) one office, WEEK × AGENT, CSAT + FIRST_CONTACT_RESOLUTION + AVERAGE_HANDLE_TIME, a quarter
# and reports p50/p95 over sequential keep-alive requests, then the same SQL (captured from
# PostgreSQL's statement log with its parameters) run directly in psql.
# Usage: scripts/bench-metrics.sh [INTERACTIONS] [REQUESTS]
# Set KEEP_DATA=DIR to reuse (or keep) a seeded data folder between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
interactions="${1:-2000000}"
requests="${2:-200}"
cargo build --release --quiet
binary="${CARGO_TARGET_DIR:-$PWD/target}/release/bac-metrics"
if [ -n "${KEEP_DATA:-}" ]; then
  work="$KEEP_DATA"; mkdir -p "$work"; cleanup_work=""
else
  work="$(mktemp -d /tmp/bac-bench-metrics-XXXXXX)"; cleanup_work="$work"
fi
chmod 755 "$work"
port="${BENCH_PORT:-18089}"
export DATA_DIR="$work/data" RUST_LOG=warn BIND="127.0.0.1:$port"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; [ -n "$cleanup_work" ] && rm -rf "$cleanup_work"' EXIT

if [ ! -f "$work/seeded-$interactions" ]; then
  echo "seeding $interactions interactions"
  /usr/bin/time -f "seed: %e s, peak %M KB" "$binary" seed --interactions "$interactions" --seed 1 | tail -n 20
  touch "$work/seeded-$interactions"
fi

"$binary" serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 1
done
token="$("$binary" token --email "${BENCH_EMAIL:-admin@bac.example.gov}" --ttl 2h)"
socket_dir="$(sed -n "s/^unix_socket_directories = '\(.*\)'$/\1/p" "$DATA_DIR/pgdata/bac-metrics.conf")"
pg_log="$DATA_DIR/pgdata/server.log"

python3 - "$port" "$token" "$requests" "$socket_dir" "$pg_log" <<'PY'
import datetime, http.client, json, re, statistics, subprocess, sys, time

port, token, requests, socket_dir, pg_log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def psql(sql, *extra):
    return subprocess.run(["psql", "-h", socket_dir, "-U", "bac_metrics", "-d", "bac_metrics", "-X", "-q", *extra],
                          input=sql, capture_output=True, text=True, check=True).stdout

today = datetime.date.today()
# (a) the last twelve full months; (b) the last full quarter, one office.
month_start = today.replace(day=1)
a_to = month_start - datetime.timedelta(days=1)
a_from = (a_to.replace(day=1) - datetime.timedelta(days=334)).replace(day=1)
quarter_start = datetime.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
b_to = quarter_start - datetime.timedelta(days=1)
b_from = datetime.date(b_to.year, b_to.month - 2, 1)
office = psql("SELECT code FROM org_units WHERE array_length(path, 1) = 2 ORDER BY code LIMIT 1;", "-At").strip()

queries = {
    "a": ("12 months × CHANNEL, 8 metrics",
          '{ metrics(query: { metrics: [INTERACTIONS, ABANDONMENT_RATE, AVERAGE_SPEED_OF_ANSWER, SERVICE_LEVEL, '
          'AVERAGE_HANDLE_TIME, FIRST_CONTACT_RESOLUTION, CSAT, SURVEY_RESPONSE_RATE], '
          f'from: "{a_from}", to: "{a_to}", granularity: MONTH, groupBy: [CHANNEL] }}) '
          '{ rows { periodLabel channel values { metric value numerator denominator lower upper } } } }'),
    "b": (f"office {office}, WEEK × AGENT, CSAT + FCR + AHT, one quarter",
          '{ metrics(query: { metrics: [CSAT, FIRST_CONTACT_RESOLUTION, AVERAGE_HANDLE_TIME], '
          f'from: "{b_from}", to: "{b_to}", granularity: WEEK, groupBy: [AGENT], '
          f'filter: {{ orgUnitCodes: ["{office}"] }} }}) '
          '{ rows { periodLabel agent { email } values { metric value numerator denominator lower upper } } } }'),
}

connection = http.client.HTTPConnection("127.0.0.1", int(port))
def post(query):
    body = json.dumps({"query": query})
    started = time.perf_counter()
    connection.request("POST", "/graphql", body, {"Content-Type": "application/json",
                       "Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    data = json.loads(payload)
    if "errors" in data:
        sys.exit(f"query failed: {data['errors']}")
    return elapsed, data

def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]

# Capture each statement with its parameters from PostgreSQL's log.
psql("ALTER SYSTEM SET log_min_duration_statement = 0; SELECT pg_reload_conf();")
time.sleep(1)
captured = {}
for name, (_, query) in queries.items():
    offset = len(open(pg_log, errors="replace").read())
    _, data = post(query)
    time.sleep(0.5)
    log = open(pg_log, errors="replace").read()[offset:]
    match = re.search(r"execute [^:]*: (SELECT g\.period_start.*?)\n(?:.*?DETAIL:\s+[Pp]arameters: (.*?)\n)?", log, re.S)
    if not match:
        sys.exit(f"could not find the statement of ({name}) in {pg_log}")
    sql, parameters = match.group(1), match.group(2) or ""
    for number, value in sorted(re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", parameters), key=lambda p: -int(p[0])):
        sql = sql.replace(f"${number}", value)
    captured[name] = (sql, len(data["data"]["metrics"]["rows"]))
psql("ALTER SYSTEM RESET log_min_duration_statement; SELECT pg_reload_conf();")

print(f"| query | rows | HTTP p50 | HTTP p95 | same SQL in psql (median of 20) |")
print(f"|---|---|---|---|---|")
for name, (title, query) in queries.items():
    for _ in range(5):
        post(query)
    timings = [post(query)[0] for _ in range(requests)]
    sql, rows = captured[name]
    script = "\\timing on\n" + "\n".join([sql + ";"] * 20)
    output = psql(script, "-o", "/dev/null")
    sql_times = [float(t) for t in re.findall(r"Time: ([\d.]+) ms", output)]
    print(f"| ({name}) {title} | {rows} | {statistics.median(timings):.1f} ms | {percentile(timings, 0.95):.1f} ms "
          f"| {statistics.median(sql_times):.1f} ms |")
print(f"\n{requests} sequential requests per query after 5 warm-ups, one keep-alive connection.")
PY
