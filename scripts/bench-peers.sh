#!/usr/bin/env bash
# Benchmarks bac-metrics side by side with a peer and with PostgreSQL alone, in one run, on one
# synthetic dataset (default 2,000,000 interactions) in a private PostgreSQL cluster:
#   - bac-metrics over HTTP (release build, or BAC_BINARY), as admin@bac.example.gov;
#   - PostGraphile 4.14.1 with @graphile/pg-aggregates 0.1.1, installed from the npm registry into
#     a temporary folder, over HTTP against the same database (owner role, no JWT: it checks nothing);
#   - pgbench running the same SQL: bac-metrics' own `metrics` statements, captured from
#     PostgreSQL's statement log with their parameters written in as literals, and one joined
#     query equivalent to the record page.
# Workloads (wrk POSTs the JSON body from a Lua script; 3 s warm-up, then SECONDS_PER_RUN s each):
#   (m730) metrics, 730 days x CHANNEL (INTERACTIONS, AVERAGE_SPEED_OF_ANSWER, AVERAGE_HANDLE_TIME),
#          1 client; PostGraphile: groupedAggregates by day x channel on the base table;
#   (m12)  metrics, 12 full months x CHANNEL, the 8 dashboard metrics of bench-metrics.sh, 8 clients;
#   (page) the 50 newest interactions with agent, org unit and topic, at 1, 8 and 32 clients;
# then the peak RSS (VmHWM) of each server process. Every run must have no non-2xx answer, and a
# sample answer of each query must have no GraphQL `errors`.
# bac-metrics runs with its per-session request budget, per-caller reporting share and queue
# deadlines raised (printed below the table), so that admission control does not throttle the
# single benchmark caller.
# Output: a markdown table and the exact commands on stdout; `--summary FILE` (or SUMMARY=FILE)
# also writes the raw figures as key=value lines.
# Usage: scripts/bench-peers.sh [--summary FILE] [INTERACTIONS=2000000] [SECONDS_PER_RUN=15]
# Env: BAC_BINARY=path measures that build instead of `cargo build --release` (before/after
# comparisons); KEEP_DATA=DIR reuses (or keeps) a seeded data folder; LABEL names the run in the
# table heading; BENCH_PORT / PEER_PORT (18093 / 18094) are the two HTTP ports.
# Needs node + npm, psql and pgbench; installs wrk with apt-get when it is missing.
set -euo pipefail

summary="${SUMMARY:-}"
if [ "${1:-}" = "--summary" ]; then summary="$2"; shift 2; fi
# Paths given relative to where the script was started from.
[ -n "$summary" ] && summary="$(realpath -m "$summary")"
[ -n "${BAC_BINARY:-}" ] && BAC_BINARY="$(realpath "$BAC_BINARY")"
[ -n "${KEEP_DATA:-}" ] && KEEP_DATA="$(realpath -m "$KEEP_DATA")"
cd "$(dirname "$0")/.."
interactions="${1:-2000000}"
seconds="${2:-15}"
label="${LABEL:-bac-metrics}"
port="${BENCH_PORT:-18093}"
peer_port="${PEER_PORT:-18094}"
warmup=3

if [ -n "${BAC_BINARY:-}" ]; then
  binary="$BAC_BINARY"
else
  cargo build --release --quiet
  binary="${CARGO_TARGET_DIR:-$PWD/target}/release/bac-metrics"
fi
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
for tool in node npm psql pgbench python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench-peers: $tool is required" >&2; exit 1; }
done

if [ -n "${KEEP_DATA:-}" ]; then
  work="$KEEP_DATA"; mkdir -p "$work"; cleanup_work=""
else
  work="$(mktemp -d /tmp/bac-bench-peers-XXXXXX)"; cleanup_work="$work"
fi
chmod 755 "$work"
scratch="$(mktemp -d /tmp/bac-bench-peers-run-XXXXXX)"
# The wrk Lua scripts and pgbench SQL files the printed commands name; kept with KEEP_DATA.
files="$work/bench-peers-files"; rm -rf "$files"; mkdir -p -m 700 "$files"  # the Lua scripts hold the token
server=""; peer=""
cleanup() {
  [ -n "$peer" ] && kill "$peer" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$scratch"
  [ -n "$cleanup_work" ] && rm -rf "$cleanup_work"
  return 0
}
trap cleanup EXIT

echo "installing postgraphile@4.14.1 and @graphile/pg-aggregates@0.1.1 into $scratch/npm" >&2
mkdir -p "$scratch/npm"
echo '{"private": true}' >"$scratch/npm/package.json"
(cd "$scratch/npm" && npm install --silent --no-audit --no-fund --save-exact \
  postgraphile@4.14.1 @graphile/pg-aggregates@0.1.1 >&2)
# interactions has no foreign keys to users, org_units and topics (the importer checks the
# references itself), so PostGraphile is told about them with smart tags; its CLI reads this file
# from its working directory. Nothing in the database changes.
cat >"$scratch/npm/postgraphile.tags.json5" <<'JSON5'
{
  version: 1,
  config: {
    class: {
      interactions: {
        tags: {
          foreignKey: [
            "(agent_id) references users (id)",
            "(org_unit_id) references org_units (id)",
            "(topic_id) references topics (id)",
          ],
        },
      },
    },
  },
}
JSON5

export DATA_DIR="$work/data" RUST_LOG=warn BIND="127.0.0.1:$port"
if [ ! -f "$work/seeded-$interactions" ]; then
  echo "seeding $interactions interactions" >&2
  /usr/bin/time -f "seed: %e s, peak %M KB" "$binary" seed --interactions "$interactions" --seed 1 | tail -n 20 >&2
  touch "$work/seeded-$interactions"
fi

# Admission control is per caller and per session; the benchmark is one caller with one token.
unthrottled="REQUESTS_PER_MINUTE_PER_SESSION=100000000 REPORTING_CONNECTIONS_PER_CALLER=3 INTERACTIVE_QUEUE_TIMEOUT_MS=30000 AUTH_QUEUE_TIMEOUT_MS=30000 REPORTING_QUEUE_TIMEOUT_MS=30000"
# shellcheck disable=SC2086
env $unthrottled "$binary" serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 1
done
token="$("$binary" token --email "${BENCH_EMAIL:-admin@bac.example.gov}" --ttl 2h)"
socket_dir="$(sed -n "s/^unix_socket_directories = '\(.*\)'$/\1/p" "$DATA_DIR/pgdata/bac-metrics.conf")"
pg_log="$DATA_DIR/pgdata/server.log"
reporting_tz="${REPORTING_TZ:-America/New_York}"

# PostGraphile on the same database through the unix socket, as the owner role, cutting days in
# the reporting time zone like bac-metrics does.
peer_url="postgres:///bac_metrics?host=$socket_dir&user=bac_metrics&options=-c%20TimeZone%3D${reporting_tz//\//%2F}"
peer_command=(env NODE_ENV=production "$scratch/npm/node_modules/.bin/postgraphile"
  --connection "$peer_url" --schema public --append-plugins @graphile/pg-aggregates
  --disable-graphiql --disable-query-log --host 127.0.0.1 --port "$peer_port")
(cd "$scratch/npm" && exec "${peer_command[@]}") >"$scratch/postgraphile.log" 2>&1 &
peer=$!

python3 - "$port" "$peer_port" "$token" "$seconds" "$warmup" "$socket_dir" "$pg_log" "$files" \
  "$server" "$peer" "$label" "$interactions" "$reporting_tz" "$summary" "$unthrottled" <<'PY'
import datetime, json, os, re, subprocess, sys, time, urllib.request, zoneinfo

(port, peer_port, token, seconds, warmup, socket_dir, pg_log, files, server, peer, label,
 interactions, reporting_tz, summary_path, unthrottled) = sys.argv[1:]
seconds, warmup = int(seconds), int(warmup)
bac_url, peer_url = f"http://127.0.0.1:{port}/graphql", f"http://127.0.0.1:{peer_port}/graphql"
psql_base = ["psql", "-h", socket_dir, "-U", "bac_metrics", "-d", "bac_metrics", "-X", "-q"]
commands = []  # the exact load commands, printed under the table

def log(message):
    print(message, file=sys.stderr, flush=True)

def psql(sql, *extra):
    return subprocess.run([*psql_base, *extra], input=sql, capture_output=True, text=True,
                          check=True).stdout

def post(url, query, headers):
    request = urllib.request.Request(url, json.dumps({"query": query}).encode(),
                                     {"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=300) as response:
        data = json.loads(response.read())
    if data.get("errors"):
        sys.exit(f"query failed at {url}: {json.dumps(data['errors'])[:2000]}\n{query}")
    return data["data"]

bac_headers = {"Authorization": f"Bearer {token}"}

today = datetime.datetime.now(zoneinfo.ZoneInfo(reporting_tz)).date()
# The seed's 730 days (by default the 730 before the day it ran), so that the peer's grouping of the
# whole table covers exactly the same days.
m730_from = datetime.date.fromisoformat(psql(
    f"SELECT (min(started_at) AT TIME ZONE '{reporting_tz}')::date FROM interactions;", "-At").strip())
m730_to = m730_from + datetime.timedelta(days=729)
a_to = today.replace(day=1) - datetime.timedelta(days=1)
a_from = (a_to.replace(day=1) - datetime.timedelta(days=334)).replace(day=1)

BAC = {
    "m730": '{ metrics(query: { metrics: [INTERACTIONS, AVERAGE_SPEED_OF_ANSWER, AVERAGE_HANDLE_TIME], '
            f'from: "{m730_from}", to: "{m730_to}", granularity: DAY, groupBy: [CHANNEL] }}) '
            '{ rows { periodLabel channel values { metric value numerator denominator } } } }',
    "m12": '{ metrics(query: { metrics: [INTERACTIONS, ABANDONMENT_RATE, AVERAGE_SPEED_OF_ANSWER, '
           'SERVICE_LEVEL, AVERAGE_HANDLE_TIME, FIRST_CONTACT_RESOLUTION, CSAT, SURVEY_RESPONSE_RATE], '
           f'from: "{a_from}", to: "{a_to}", granularity: MONTH, groupBy: [CHANNEL] }}) '
           '{ rows { periodLabel channel values { metric value numerator denominator lower upper } } } }',
    # benches/mixed_load.rs's page and fields, from the newest end (`last`) like the peer's.
    "page": '{ interactions(last: 50) { edges { node { id channel startedAt outcome '
            'agent { email displayName } orgUnit { code name } topic { code name } } } '
            'pageInfo { startCursor hasPreviousPage } } }',
}
# PostGraphile's shapes, from its introspected schema: the whole table is the seeded 730 days.
PEER = {
    "m730": '{ allInteractions { groupedAggregates(groupBy: [STARTED_AT_TRUNCATED_TO_DAY, CHANNEL]) '
            '{ keys distinctCount { id } average { waitSeconds handleSeconds } } } }',
    "page": '{ allInteractions(first: 50, orderBy: [STARTED_AT_DESC, ID_DESC]) { nodes { id channel '
            'startedAt outcome userByAgentId { email displayName } orgUnitByOrgUnitId { code name } '
            'topicByTopicId { code name } } pageInfo { endCursor hasNextPage } } }',
}
# The record page as one statement: 51 rows tell whether there is a next page.
PAGE_SQL = ("SELECT i.id, i.channel, i.started_at, i.outcome, u.email, u.display_name, o.code, o.name, "
            "t.code, t.name FROM interactions i JOIN org_units o ON o.id = i.org_unit_id "
            "LEFT JOIN users u ON u.id = i.agent_id LEFT JOIN topics t ON t.id = i.topic_id "
            "ORDER BY i.started_at DESC, i.id DESC LIMIT 51;")

def wrk(name, url, query, headers, clients):
    """Warm up, then one measured wrk run; returns its figures."""
    script = os.path.join(files, f"{name}.lua")
    body = json.dumps({"query": query})
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        for key, value in headers.items():
            f.write(f'wrk.headers["{key}"] = "{value}"\n')
        f.write(f"wrk.body = [==[{body}]==]\n")
        f.write('done = function(summary, latency, requests)\n'
                '  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, '
                'summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status, '
                'summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\n'
                'end\n')
    threads = min(clients, 2)
    base = ["wrk", "-t", str(threads), "-c", str(clients), "--timeout", "60s", "--latency", "-s", script]
    subprocess.run([*base, "-d", f"{warmup}s", url], capture_output=True, check=True)
    command = [*base, "-d", f"{seconds}s", url]
    commands.append(" ".join(command))
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests, duration, p50, p99, non2xx, socket_errors = map(int, re.search(r"RESULT (.*)", output).group(1).split())
    result = {"rps": requests / (duration / 1e6), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000,
              "requests": requests, "non2xx": non2xx, "socket_errors": socket_errors}
    log(f"{name}: {result}")
    if not requests:
        sys.exit(f"{name}: no request finished within {seconds} s; give a longer SECONDS_PER_RUN")
    if non2xx or socket_errors:
        sys.exit(f"{name}: {non2xx} non-2xx answers, {socket_errors} socket errors\n{output}")
    return result

def pgbench(name, sql, clients):
    path = os.path.join(files, f"{name}.sql")
    with open(path, "w") as f:
        f.write(sql.rstrip().rstrip(";") + ";\n")
    base = ["pgbench", "-h", socket_dir, "-U", "bac_metrics", "-n", "-M", "prepared",
            "-c", str(clients), "-j", str(clients), "-f", path]
    subprocess.run([*base, "-T", str(warmup), "bac_metrics"], capture_output=True, check=True)
    command = [*base, "-T", str(seconds), "bac_metrics"]
    commands.append(" ".join(command))
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"tps = ([\d.]+)", output).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", output).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if failed and int(failed.group(1)):
        sys.exit(f"{name}: pgbench transactions failed\n{output}")
    log(f"{name}: {tps:.1f} tps, latency average {latency:.2f} ms")
    return {"rps": tps, "avg_ms": latency}

def peak_rss_mb(pid, descendants):
    """VmHWM of the process (and of its descendants), in MB."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status") as f:
                total += int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
            if descendants:
                with open(f"/proc/{current}/task/{current}/children") as f:
                    pids += f.read().split()
        except FileNotFoundError:
            pass
    return total / 1024

# bac-metrics' own SQL for the two reports, from PostgreSQL's statement log with its parameters.
psql("ALTER SYSTEM SET log_min_duration_statement = 0; SELECT pg_reload_conf();")
time.sleep(1)
captured, rows = {}, {}
try:
    for name in ("m730", "m12"):
        with open(pg_log, errors="replace") as f:
            offset = len(f.read())
        rows[name] = len(post(bac_url, BAC[name], bac_headers)["metrics"]["rows"])
        time.sleep(0.5)
        with open(pg_log, errors="replace") as f:
            text = f.read()[offset:]
        match = re.search(r"execute [^:]*: (SELECT g\.period_start.*?)\n(?:.*?DETAIL:\s+[Pp]arameters: (.*?)\n)?",
                          text, re.S)
        if not match:
            sys.exit(f"could not find the statement of {name} in {pg_log}")
        sql, parameters = match.group(1), match.group(2) or ""
        for number, value in sorted(re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", parameters),
                                    key=lambda p: -int(p[0])):
            sql = sql.replace(f"${number}", value)
        captured[name] = sql
finally:
    psql("ALTER SYSTEM RESET log_min_duration_statement; SELECT pg_reload_conf();")
page = post(bac_url, BAC["page"], bac_headers)["interactions"]["edges"]
rows["page"] = len(page)
for name, sql in captured.items():
    # pgbench reads ":word" as a variable; a literal with a colon (a time) would break the script.
    if re.search(r"(?<!:):[A-Za-z0-9_]", re.sub(r"::", "", sql)):
        sys.exit(f"the captured SQL of {name} has a colon pgbench would read as a variable:\n{sql}")

results = {}
log(f"bac-metrics ({label}): {bac_url}")
results["bac_m730"] = wrk("bac_m730", bac_url, BAC["m730"], bac_headers, 1)
results["bac_m12"] = wrk("bac_m12", bac_url, BAC["m12"], bac_headers, 8)
for clients in (1, 8, 32):
    results[f"bac_page_{clients}"] = wrk(f"bac_page_{clients}", bac_url, BAC["page"], bac_headers, clients)
post(bac_url, BAC["page"], bac_headers)
# Not its children: the one it has is a shell watching that the cluster stops with it.
bac_rss = peak_rss_mb(int(server), False)

log("pgbench")
results["sql_m730"] = pgbench("sql_m730", captured["m730"], 1)
results["sql_m12"] = pgbench("sql_m12", captured["m12"], 8)
for clients in (1, 8, 32):
    results[f"sql_page_{clients}"] = pgbench(f"sql_page_{clients}", PAGE_SQL, clients)
sql_page = psql(PAGE_SQL, "-At").strip().splitlines()

log("PostGraphile 4.14.1 + @graphile/pg-aggregates 0.1.1")
for _ in range(120):
    try:
        urllib.request.urlopen(urllib.request.Request(peer_url, b'{"query":"{__typename}"}',
                               {"Content-Type": "application/json"}), timeout=5).read()
        break
    except Exception:
        time.sleep(1)
peer_groups = post(peer_url, PEER["m730"], {})["allInteractions"]["groupedAggregates"]
rows["peer_m730"] = len(peer_groups)
if rows["peer_m730"] != rows["m730"]:
    log(f"warning: {rows['m730']} rows from bac-metrics but {rows['peer_m730']} groups from the peer for 730 days")
peer_page = post(peer_url, PEER["page"], {})["allInteractions"]["nodes"]
rows["peer_page"] = len(peer_page)
bac_ids = sorted(int(e["node"]["id"]) for e in page)
if sorted(int(n["id"]) for n in peer_page) != bac_ids or \
   sorted(int(line.split("|")[0]) for line in sql_page[:50]) != bac_ids:
    sys.exit("the three record pages do not list the same 50 interactions")
results["peer_m730"] = wrk("peer_m730", peer_url, PEER["m730"], {}, 1)
for clients in (1, 8, 32):
    results[f"peer_page_{clients}"] = wrk(f"peer_page_{clients}", peer_url, PEER["page"], {}, clients)
peer_rss = peak_rss_mb(int(peer), True)

r = results
def rps(key):
    return f"{r[key]['rps']:,.1f}" if r[key]["rps"] < 100 else f"{r[key]['rps']:,.0f}"
print(f"### {label} vs PostGraphile 4 vs pgbench: {int(interactions):,} interactions, "
      f"{seconds} s per run after a {warmup} s warm-up\n")
print("| workload | bac-metrics | PostGraphile 4 | same SQL in pgbench |")
print("|---|---|---|---|")
print(f"| `metrics`, 730 days × CHANNEL (INTERACTIONS, ASA, AHT; {rows['m730']} rows), 1 client "
      f"| {rps('bac_m730')} req/s, p50 {r['bac_m730']['p50_ms']:.1f} ms "
      f"| {rps('peer_m730')} req/s, p50 {r['peer_m730']['p50_ms']:.1f} ms (groupedAggregates by day × channel on the "
      f"base table, {rows['peer_m730']} groups) | bac's own rollup SQL {rps('sql_m730')} req/s |")
print(f"| `metrics`, 12 months × CHANNEL, 8 metrics ({rows['m12']} rows), 8 clients "
      f"| {rps('bac_m12')} req/s, p99 {r['bac_m12']['p99_ms']:.1f} ms | — | bac's own SQL {rps('sql_m12')} req/s |")
print(f"| 50 newest interactions with agent, org unit, topic, 1 client "
      f"| {rps('bac_page_1')} req/s, p50 {r['bac_page_1']['p50_ms']:.2f} ms "
      f"| {rps('peer_page_1')} req/s, p50 {r['peer_page_1']['p50_ms']:.2f} ms "
      f"| {rps('sql_page_1')} req/s (one joined query) |")
print(f"| same page, 8 / 32 clients | {rps('bac_page_8')} / {rps('bac_page_32')} req/s "
      f"| {rps('peer_page_8')} / {rps('peer_page_32')} req/s | {rps('sql_page_8')} / {rps('sql_page_32')} req/s |")
print(f"| peak RSS after the load | {bac_rss:.0f} MB | {peer_rss:.0f} MB (node) | — |")
print(f"\nbac-metrics: {label}, run as admin with `{unthrottled}` so that admission control does not "
      f"throttle the single benchmark caller. PostGraphile: no authentication, connected as the "
      f"database owner, default pool (10). Every HTTP run had 0 non-2xx answers and 0 socket errors; "
      f"p50/p99 are wrk's. pgbench gives throughput only (req/s = tps).\n")
print("GraphQL documents (bac-metrics with `Authorization: Bearer <admin token>`):\n```")
for name, query in BAC.items():
    print(f"bac  {name}: {query}")
for name, query in PEER.items():
    print(f"peer {name}: {query}")
print(f"```\nThe record page in pgbench: `{PAGE_SQL}` The two `metrics` statements are bac-metrics' own, "
      f"captured from PostgreSQL's log with their parameters as literals, in {files}/sql_m730.sql and sql_m12.sql "
      f"(with the Lua scripts; removed after the run unless KEEP_DATA is set).\n")
print("Commands:\n```")
for command in commands:
    print(command)
print("```")
if summary_path:
    with open(summary_path, "w") as f:
        for key, figures in results.items():
            for field, value in figures.items():
                f.write(f"{key}_{field}={value:.3f}\n" if isinstance(value, float) else f"{key}_{field}={value}\n")
        f.write(f"bac_peak_rss_mb={bac_rss:.1f}\npeer_peak_rss_mb={peer_rss:.1f}\n")
        f.write(f"interactions={interactions}\nseconds={seconds}\n")
PY
