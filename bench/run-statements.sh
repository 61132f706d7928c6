#!/usr/bin/env bash
# Where ingest spends the database's time: the gateway jar against a throwaway PostgreSQL server of the machine
# (Debian's binaries, as ../shared/peers/run.sh uses; pg_stat_statements loaded, track=all so the statements inside
# rlg_write_events show), wrk posting BATCH new events per request over CONNECTIONS connections for SECONDS after a
# 5 s warm-up. Prints requests/s, the CPU of the gateway, PostgreSQL and wrk, and the top statements by time.
# Usage: bench/run-statements.sh [BATCH] [CONNECTIONS] [SECONDS]   (default 100 16 15; needs wrk and a PostgreSQL
#   server under /usr/lib/postgresql/*/bin; run `mvn -B -DskipTests package` first). Ports: 5499 (PostgreSQL),
#   8080/8081 (gateway). Everything it starts is stopped on exit.
set -euo pipefail
BATCH=${1:-100}; CONNS=${2:-16}; SECS=${3:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=${GATEWAY_JAR:-$ROOT/target/rover-logout-gateway.jar}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/postgres" ] || { echo "no PostgreSQL server binaries under /usr/lib/postgresql" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found (Debian package wrk)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/rlg-statements.XXXX); chmod 755 "$WORK"
AS=(); if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || { echo "run as a user other than root, or create user postgres" >&2; exit 2; }; chown postgres "$WORK"; AS=(runuser -u postgres --); fi
GW=""
cleanup() {
  [ -n "$GW" ] && { kill "$GW" 2>/dev/null || true; wait "$GW" 2>/dev/null || true; }
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" stop -m fast >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p 5499 -k $WORK -c listen_addresses=127.0.0.1 \
  -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c max_connections=200 \
  -c track_wal_io_timing=on -c track_io_timing=on" start >/dev/null
psql() { command psql -h 127.0.0.1 -p 5499 -U postgres "$@"; }
psql -qc "CREATE DATABASE rlg"
psql -d rlg -qc "CREATE EXTENSION pg_stat_statements"
mkdir "$WORK/gw" && chmod 777 "$WORK/gw"
(cd "$WORK/gw" && exec env RLG_DATABASE_URL=postgresql://postgres@127.0.0.1:5499/rlg RLG_INGEST_RATELIMITPERSECOND=0 \
  RLG_INGEST_MAXBACKLOG=1000000000 RLG_HTTP_HOST=127.0.0.1 RLG_LOGGING_FORMAT=plain RLG_DISPATCH_ENABLED=false \
  RLG_DATADIR="$WORK/gw/data" java -Xmx512m -jar "$JAR" serve > "$WORK/gw/log" 2>&1) &
GW=$!
for _ in $(seq 1 60); do curl -sf localhost:8081/health/ready >/dev/null && break; sleep 1; done
ADMIN=$(grep '^admin=' "$WORK/gw/data/tokens.properties" | cut -d= -f2)
INGEST=$(grep '^ingest=' "$WORK/gw/data/tokens.properties" | cut -d= -f2)
# a PAUSED environment: every check-in queues a job (the most expensive ingest) and nothing calls Epic
curl -sf -X POST localhost:8081/admin/environments -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"id":"bench","interconnectUrl":"https://epic.example.org","clientId":"bench","rateLimitPerSecond":100}' >/dev/null
curl -sf -X POST localhost:8081/admin/environments/bench/activate -H "Authorization: Bearer $ADMIN" >/dev/null
curl -sf -X POST localhost:8081/admin/environments/bench/pause -H "Authorization: Bearer $ADMIN" >/dev/null
BATCH=$BATCH TOKEN=$INGEST wrk -t2 -c"$CONNS" -d5s -s "$ROOT/bench/checkins.lua" http://127.0.0.1:8080 >/dev/null 2>&1 || true
psql -d rlg -qAtc "SELECT pg_stat_statements_reset(), pg_stat_reset(), pg_stat_reset_shared('wal'), pg_stat_reset_shared('bgwriter')" >/dev/null
# what the client backends wait for, sampled every 10 ms over the window (one connection of its own)
for _ in $(seq 1 $(((SECS - 3) * 80))); do # ~12.5 ms each: ends before wrk does
  echo "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, count(*) FROM pg_stat_activity
         WHERE datname = 'rlg' AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1
         UNION ALL SELECT 'samples', 1; SELECT pg_sleep(0.01);"
done > "$WORK/waits.sql"
cpu() { for p in $GW $(pgrep -x postgres) $(pgrep -x wrk); do echo "$p $(ps -o comm= -p "$p") $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null)"; done; }
BATCH=$BATCH TOKEN=$INGEST wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$ROOT/bench/checkins.lua" http://127.0.0.1:8080 > "$WORK/wrk.txt" 2>&1 &
W=$!
sleep 1; cpu > "$WORK/cpu0"; T0=$(date +%s.%N)
command psql -h 127.0.0.1 -p 5499 -U postgres -d rlg -qAt -F ' ' -f "$WORK/waits.sql" > "$WORK/waits.txt" 2>/dev/null || true
cpu > "$WORK/cpu1"; T1=$(date +%s.%N)
wait $W
echo "== batch=$BATCH connections=$CONNS ${SECS}s: $(awk '/Requests\/sec/ {printf "%.0f requests/s = %.0f events/s", $2, $2 * '"$BATCH"'}' "$WORK/wrk.txt")"
python3 - "$WORK/cpu0" "$WORK/cpu1" "$T0" "$T1" <<'PY'
import sys
a = {l.split()[0]: int(l.split()[2]) for l in open(sys.argv[1]) if len(l.split()) == 3}
cores = {}
for l in open(sys.argv[2]):
    f = l.split()
    if len(f) == 3 and f[0] in a:
        cores[f[1]] = cores.get(f[1], 0) + int(f[2]) - a[f[0]]
t = float(sys.argv[4]) - float(sys.argv[3])
print("CPU (cores): " + ", ".join(f"{k} {v / 100 / t:.2f}" for k, v in cores.items()))
PY
echo "== statements by total time (calls, ms, mean ms, rows, buffer hits; per_row_us = time per row returned or written)"
psql -d rlg -c "SELECT calls, round(total_exec_time::numeric) AS ms, round(mean_exec_time::numeric, 2) AS mean,
  rows, shared_blks_hit AS hits, round((total_exec_time * 1000 / greatest(rows, 1))::numeric, 1) AS per_row_us,
  left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS query
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'rlg')
  ORDER BY total_exec_time DESC LIMIT 12"
echo "== what the active connections waited for (samples every ~10 ms; CPU = running or runnable)"
awk 'NF == 2 && $1 == "samples" {s++; next} NF == 2 && $2 ~ /^[0-9]+$/ {n[$1] += $2; t += $2}
  END {printf "  %.2f statements running on average (of %d samples)\n", t / s, s; for (k in n) printf "%6.1f %%  %s\n", 100 * n[k] / t, k}' \
  "$WORK/waits.txt" | sort -k1,1 -rn | head -9
echo "== WAL and commits over the window (full-page images, write and sync time, WAL per commit)"
psql -d rlg -c "SELECT w.wal_records, w.wal_fpi, pg_size_pretty(w.wal_bytes) AS wal, w.wal_write, w.wal_sync,
  round(w.wal_write_time::numeric) AS write_ms, round(w.wal_sync_time::numeric) AS sync_ms,
  round((w.wal_sync_time / greatest(w.wal_sync, 1))::numeric, 3) AS ms_per_sync, b.checkpoints_timed + b.checkpoints_req AS checkpoints,
  d.xact_commit AS commits, pg_size_pretty((w.wal_bytes / greatest(d.xact_commit, 1))::bigint) AS wal_per_commit
  FROM pg_stat_wal w, pg_stat_bgwriter b, pg_stat_database d WHERE d.datname = 'rlg'"
