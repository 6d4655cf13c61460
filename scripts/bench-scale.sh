#!/usr/bin/env bash
# Read throughput of the deployment topology (docs/DEPLOY.md): a seeded primary, a streaming
# replica made with `pg_basebackup -R`, and a mixed read load (a 12-month `metrics` report, a page
# of interactions, the topics, `me`) through one API instance, then through two.
# Usage: scripts/bench-scale.sh [INTERACTIONS] [SECONDS_PER_PHASE] [CLIENTS]
# Defaults: 2,000,000 interactions, 30 s, 8 concurrent clients. KEEP_DATA=DIR reuses a seed;
# BENCH_PROFILE=debug runs the debug build (to check the script itself, not for figures).
set -euo pipefail
cd "$(dirname "$0")/.."
interactions="${1:-2000000}"
seconds="${2:-30}"
clients="${3:-8}"
profile="${BENCH_PROFILE:-release}"
if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
binary="${CARGO_TARGET_DIR:-$PWD/target}/$profile/bac-metrics"
if [ -n "${KEEP_DATA:-}" ]; then
  work="$KEEP_DATA"; mkdir -p "$work"; cleanup_work=""
else
  work="$(mktemp -d /tmp/bac-bench-scale-XXXXXX)"; cleanup_work="$work"
fi
chmod 755 "$work"
pgbin="$(dirname "$(readlink -f "$(command -v initdb || echo /usr/lib/postgresql/15/bin/initdb)")")"
# PostgreSQL refuses to run as root; the private cluster then belongs to `postgres`.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
export DATA_DIR="$work/data" RUST_LOG=warn
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" stop -D "$work/replica" -m fast >/dev/null 2>&1 || true
  as_pg "$pgbin/pg_ctl" stop -D "$DATA_DIR/pgdata" -m fast >/dev/null 2>&1 || true
  [ -n "$cleanup_work" ] && rm -rf "$cleanup_work"
  return 0
}
trap cleanup EXIT

if [ ! -f "$work/seeded-$interactions" ]; then
  echo "seeding $interactions interactions on the primary"
  "$binary" seed --interactions "$interactions" --seed 1 | tail -n 3
  touch "$work/seeded-$interactions"
fi
# The seed stopped its private cluster; run it ourselves now, as the primary.
as_pg "$pgbin/pg_ctl" start -D "$DATA_DIR/pgdata" -l "$DATA_DIR/pgdata/server.log" -w >/dev/null
socket="$(sed -n "s/^unix_socket_directories = '\(.*\)'$/\1/p" "$DATA_DIR/pgdata/bac-metrics.conf")"
primary_url="postgresql://bac_metrics@/bac_metrics?host=$socket&port=5432"

echo "pg_basebackup -R: a streaming replica"
as_pg "$pgbin/pg_ctl" stop -D "$work/replica" -m fast >/dev/null 2>&1 || true
rm -rf "$work/replica" "$work/replica-socket"
mkdir -p "$work/replica" "$work/replica-socket"
chmod 700 "$work/replica" "$work/replica-socket"
[ "$(id -u)" = 0 ] && chown postgres: "$work/replica" "$work/replica-socket"
started=$(date +%s.%N)
as_pg "$pgbin/pg_basebackup" -D "$work/replica" -d "host=$socket port=5432 user=bac_metrics dbname=postgres" \
  -R -X stream -c fast --no-sync
sed -i "s|^unix_socket_directories = .*|unix_socket_directories = '$work/replica-socket'|" "$work/replica/bac-metrics.conf"
as_pg "$pgbin/pg_ctl" start -D "$work/replica" -l "$work/replica/server.log" -w >/dev/null
echo "replica ready in $(echo "$(date +%s.%N) - $started" | bc) s ($(du -sh "$work/replica" | cut -f1))"
replica_url="postgresql://bac_metrics@/bac_metrics?host=$work/replica-socket&port=5432"

export DATABASE_URL="$primary_url" DATABASE_REPLICA_URLS="$replica_url"
export JWT_SECRET="bench-scale-secret-0123456789abcdef0123456789"
export PSEUDONYM_KEY="bench-scale-pseudonym-0123456789abcdef012345"
for port in 18091 18092; do
  BIND="127.0.0.1:$port" "$binary" serve >"$work/serve-$port.log" 2>&1 &
  servers+=("$!")
done
for port in 18091 18092; do
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/readyz" 2>/dev/null | grep -q '"serving"' && break
    sleep 1
  done
done
token="$("$binary" token --email "${BENCH_EMAIL:-admin@bac.example.gov}" --ttl 2h)"

python3 - "$token" "$seconds" "$clients" <<'PY'
import datetime, http.client, json, statistics, sys, threading, time
token, seconds, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
today = datetime.date.today()
to = today.replace(day=1) - datetime.timedelta(days=1)
since = (to.replace(day=1) - datetime.timedelta(days=334)).replace(day=1)
mix = [
    '{ metrics(query: { metrics: [INTERACTIONS, ABANDONMENT_RATE, AVERAGE_SPEED_OF_ANSWER, CSAT], '
    f'from: "{since}", to: "{to}", granularity: MONTH, groupBy: [CHANNEL] }}) {{ rows {{ periodLabel values {{ value }} }} }} }}',
    '{ interactions(first: 50) { edges { node { id channel startedAt } } } }',
    '{ topics(first: 20) { edges { node { code name } } } }',
    '{ me { role } }',
]

def phase(ports):
    stop = time.time() + seconds
    timings, served, errors = [], {}, [0]
    lock = threading.Lock()
    def client(number):
        connection = http.client.HTTPConnection("127.0.0.1", ports[number % len(ports)])
        i = number
        while time.time() < stop:
            query = mix[i % len(mix)]; i += 1
            started = time.perf_counter()
            connection.request("POST", "/graphql", json.dumps({"query": query}),
                               {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            body = json.loads(response.read())
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if "errors" in body:
                    errors[0] += 1
                timings.append(elapsed)
                name = response.getheader("x-database") or "-"
                served[name] = served.get(name, 0) + 1
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads: thread.start()
    for thread in threads: thread.join()
    ordered = sorted(timings)
    return (len(timings) / seconds, statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))],
            errors[0], served)

print(f"| instances | clients | requests/s | p50 | p95 | errors | served by |")
print(f"|---|---|---|---|---|---|---|")
for ports in ([18091], [18091, 18092]):
    rate, p50, p95, errors, served = phase(ports)
    print(f"| {len(ports)} | {clients} | {rate:.0f} | {p50:.1f} ms | {p95:.1f} ms | {errors} | "
          + ", ".join(f"{k}: {v}" for k, v in sorted(served.items())) + " |")
PY
