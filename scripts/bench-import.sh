#!/usr/bin/env bash
# Measures the bulk import of N interactions (default 1,000,000) into a fresh private cluster,
# with the release build, and compares it with `COPY` of the same rows into a copy of the
# interactions table with the same indexes and no triggers, and into a table with no indexes.
# Usage: scripts/bench-import.sh [N]   (COPY_COMPARISON=0 skips the comparison)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
# KEEP_DATA=DIR keeps the cluster and files there for inspection afterwards.
work="${KEEP_DATA:-$(mktemp -d /tmp/bac-bench-import-XXXXXX)}"
mkdir -p "$work"
chmod 755 "$work"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; [ -z "${KEEP_DATA:-}" ] && rm -rf "$work"' EXIT
# BINARY=path measures another build (for example the one before a change) on the same data.
if [ -z "${BINARY:-}" ]; then
    cargo build --release --quiet
fi
binary="${BINARY:-${CARGO_TARGET_DIR:-target}/release/bac-metrics}"
export DATA_DIR="$work/data" RUST_LOG=warn
python3 - "$work" "$rows" <<'PY'
import csv, datetime, random, sys
work, rows = sys.argv[1], int(sys.argv[2])
random.seed(7)
units = ["NORTH-PHONE", "NORTH-DIGITAL", "SOUTH-PHONE", "SOUTH-WALKIN"]
with open(f"{work}/org-units.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["code", "name", "parent_code"])
    w.writerows([["BAC", "Agency", ""], ["NORTH", "North", "BAC"], ["SOUTH", "South", "BAC"]])
    w.writerows([[u, u, u.split("-")[0]] for u in units])
with open(f"{work}/topics.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["code", "name"]); w.writerows([[f"T{i}", f"Topic {i}"] for i in range(6)])
agents = [f"agent{i}@bac.example.gov" for i in range(40)]
with open(f"{work}/users.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["email", "display_name", "role", "org_unit_code"])
    w.writerows([[a, f"Agent {i}", "agent", units[i % 4]] for i, a in enumerate(agents)])
channels = ["phone", "chat", "email", "in_person", "mail", "web_self_service", "ivr", "sms"]
start = datetime.datetime(2024, 11, 1, tzinfo=datetime.timezone.utc)
step = max(1, int((datetime.datetime.now(datetime.timezone.utc) - start).total_seconds() // (rows + 1)))
with open(f"{work}/interactions.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow("source,external_id,channel,org_unit_code,agent_email,customer_ref,business_name,contact_name,email,phone,topic_code,started_at,wait_seconds,handle_seconds,transfers,abandoned,outcome".split(","))
    for i in range(rows):
        c = random.choice(channels); assisted = c in channels[:5]; queued = c in ("phone", "chat")
        abandoned = queued and random.random() < 0.07
        customer = f"C{random.randrange(200000)}" if random.random() < 0.8 else ""
        w.writerow(["bench", i, c, units[i % 4], agents[(i * 7) % 40] if assisted and not abandoned else "",
                    customer, f"Business {customer}" if customer else "", "", "", "", f"T{i % 6}",
                    (start + datetime.timedelta(seconds=i * step)).isoformat(),
                    random.randrange(300) if queued else "", random.randrange(60, 1200) if assisted and not abandoned else "",
                    0, "true" if abandoned else "false",
                    "" if abandoned else random.choice(["resolved", "unresolved", "referred", "escalated"])])
PY
for kind in org-units topics users; do "$binary" import "$kind" "$work/$kind.csv" >/dev/null; done
# Keep the cluster up between commands, as a running server would.
BIND=127.0.0.1:0 "$binary" serve >"$work/serve.log" 2>&1 &
server=$!
sleep 3
if [ -n "${BEFORE_IMPORT:-}" ]; then eval "$BEFORE_IMPORT"; fi
echo "importing $rows interactions (IMPORT_BATCH_SIZE=${IMPORT_BATCH_SIZE:-10000}, IMPORT_WORKERS=${IMPORT_WORKERS:-3})"
# CPU of the PostgreSQL server: the postmaster's own and that of its children that ended (the
# import's connections end with it), in clock ticks.
postmaster=$(sed -n 1p "$work/data/pgdata/postmaster.pid")
server_cpu() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$postmaster/stat"; }
server_before=$(server_cpu)
begin=$(date +%s.%N)
/usr/bin/time -f "%M %U %S" -o "$work/importer.time" \
    "$binary" import interactions "$work/interactions.csv" >"$work/report.json"
end=$(date +%s.%N)
sleep 2 # until the postmaster has reaped the import's connections
server_after=$(server_cpu)
python3 - "$work/report.json" "$begin" "$end" "$work/importer.time" "$server_before" "$server_after" "$(getconf CLK_TCK)" <<'PY'
import json, sys
report = json.load(open(sys.argv[1])); seconds = float(sys.argv[3]) - float(sys.argv[2])
peak_kb, user, system = open(sys.argv[4]).read().split()[-3:]
print(f"importer: peak RSS {int(peak_kb) / 1024:.0f} MB, CPU {float(user) + float(system):.1f} s; "
      f"PostgreSQL connections that ended: CPU {(int(sys.argv[6]) - int(sys.argv[5])) / int(sys.argv[7]):.1f} s")
print(f"import: rows {report['rows_read']}, inserted {report['inserted']}, rejected {report['rejected']}, "
      f"{seconds:.1f} s, {report['rows_read'] / seconds:,.0f} rows/s")
PY
# AFTER_IMPORT runs a command against the cluster before the comparison (e.g. reading
# pg_stat_statements, which BEFORE_IMPORT may have set up).
if [ -n "${AFTER_IMPORT:-}" ]; then eval "$AFTER_IMPORT"; fi
[ "${COPY_COMPARISON:-1}" = 0 ] && exit 0
# The physical limits: the same rows (as the import resolved them, codes turned into ids) loaded
# with one `COPY`, into a table like `interactions` with its indexes and storage settings but
# none of its triggers, and into one with neither. Same cluster, same durability.
socket=$(sed -n 5p "$work/data/pgdata/postmaster.pid")
port=$(sed -n 4p "$work/data/pgdata/postmaster.pid")
sql() { psql -X -q -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -U bac_metrics -d bac_metrics "$@"; }
columns="source, external_id, channel, org_unit_id, agent_id, customer_id, topic_id, started_at, wait_seconds, handle_seconds, transfers, abandoned, outcome"
sql -c "\\copy (SELECT $columns FROM interactions ORDER BY id) TO '$work/resolved.csv' CSV"
sql -c "CREATE TABLE bench_copy_indexed (LIKE interactions INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES) WITH (fillfactor = 85)" \
    -c "CREATE TABLE bench_copy_bare (LIKE interactions INCLUDING DEFAULTS INCLUDING IDENTITY)"
for table in bench_copy_indexed bench_copy_bare; do
    begin=$(date +%s.%N)
    sql -c "\\copy $table ($columns) FROM '$work/resolved.csv' CSV"
    end=$(date +%s.%N)
    python3 -c "import sys; s = float(sys.argv[2]) - float(sys.argv[1]); n = int(sys.argv[3]); print(f'COPY into {sys.argv[4]}: {s:.1f} s, {n / s:,.0f} rows/s')" \
        "$begin" "$end" "$rows" "$table"
done
sql -c "DROP TABLE bench_copy_indexed, bench_copy_bare"
