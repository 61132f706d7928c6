#!/usr/bin/env bash
# Ingest throughput: wrk (closed loop, max throughput) against POST /v1/checkins with BATCH unique events per
# request, then bare PostgreSQL on the same server with pgbench (100-row insert transactions, rows generated
# server-side, same row shape and indexes as device_event) for the ratio.
# Usage: bench/run-ingest.sh [BATCH] [CONNECTIONS] [SECONDS]   (needs: apt-get install wrk postgresql-client)
set -euo pipefail
BATCH=${1:-100}; CONNS=${2:-32}; SECS=${3:-30}
source "$(dirname "$0")/start-gateway.sh"
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
