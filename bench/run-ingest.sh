#!/usr/bin/env bash
# Ingest benchmark: starts the gateway jar on a fresh embedded database, creates one READY environment,
# drives POST /v1/checkins with wrk (closed loop, max throughput), and measures bare PostgreSQL with
# pgbench on the same server (100-row server-generated insert transactions) for the ratio.
# Usage: bench/run-ingest.sh [BATCH] [CONNECTIONS] [SECONDS]     (needs wrk and pgbench: apt-get install wrk postgresql-client)
set -euo pipefail
BATCH=${1:-100}; CONNS=${2:-32}; SECS=${3:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/rlg-bench.XXXX)
JAR="$ROOT/target/rover-logout-gateway.jar"
[ -f "$JAR" ] || (cd "$ROOT" && mvn -B -q -DskipTests package)
cd "$WORK"
RLG_HTTP_HOST=127.0.0.1 RLG_METRICS_QUEUESTATSINTERVAL=5s java ${JAVA_OPTS:-} -jar "$JAR" > gateway.log 2>&1 &
GW=$!
cleanup() { kill "$GW" 2>/dev/null || true; wait "$GW" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 60); do curl -sf localhost:8081/health/ready >/dev/null && break; sleep 1; done
ADMIN=$(grep '^admin=' data/tokens.properties | cut -d= -f2); INGEST=$(grep '^ingest=' data/tokens.properties | cut -d= -f2)
curl -sf -X POST localhost:8081/admin/environments -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"id":"bench","interconnectUrl":"https://epic.example.org","clientId":"bench","rateLimitPerSecond":100}' >/dev/null
curl -sf -X POST localhost:8081/admin/environments/bench/activate -H "Authorization: Bearer $ADMIN" >/dev/null
PGPORT=$(grep -o 'port [0-9]*' gateway.log | head -1 | cut -d' ' -f2)
# warm up (JIT), then measure
BATCH=$BATCH TOKEN=$INGEST wrk -t2 -c"$CONNS" -d5s -s "$ROOT/bench/checkins.lua" http://127.0.0.1:8080 >/dev/null 2>&1 || true
echo "== gateway: batch=$BATCH connections=$CONNS ${SECS}s"
BATCH=$BATCH TOKEN=$INGEST wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$ROOT/bench/checkins.lua" http://127.0.0.1:8080 2>&1 | tee wrk.txt | grep -v '^status' | head -25
REQS=$(grep 'Requests/sec' wrk.txt | awk '{print $2}')
echo "events/s: $(awk "BEGIN {printf \"%.0f\", $REQS * $BATCH}")"
curl -s localhost:8081/metrics | grep -E '^rlg_ingest_(commits_total|group_events_(sum|count))' || true
echo "== bare PostgreSQL (same server): 100-row insert transactions, rows generated server-side"
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -q -c "CREATE TABLE IF NOT EXISTS bench_rows (LIKE device_event INCLUDING DEFAULTS INCLUDING INDEXES)"
cat > insert.sql <<'SQL'
INSERT INTO bench_rows (environment_id, event_id, type, device_id, occurred_at, outcome, locker_id)
SELECT 'bench', md5(random()::text || g), 'CHECK_IN', 'd-' || md5(random()::text || g), now(), 'queued', 'locker-1'
FROM generate_series(1, 100) g;
SQL
pgbench -h 127.0.0.1 -p "$PGPORT" -U postgres -n -c 8 -j 2 -T "$SECS" -f insert.sql postgres 2>&1 | grep -E 'tps|latency average'
