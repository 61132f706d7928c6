#!/usr/bin/env bash
# Data-growth benchmarks, in one run against one gateway (dispatch on) and the Epic simulator:
#   1. ingest (wrk: 100-event batches, then single events) and two dispatch drains (after one left out) on the empty
#      database;
#   2. ROWS historical rows added (check-ins with their done jobs and attempts, check-outs; 40-70 days old);
#   3. the same ingest and drain again: the ratio to step 1 is the figure (target >= 0.9);
#   4. device-history lookups (p99 target <= 10 ms);
#   5. ack latency of single events at 2,000 req/s open-loop without and then with the retention cleaner deleting
#      the history (target: p99 with <= 2 x without), and how long the cleanup takes;
#   6. queue statistics at 1M and 10M queued jobs (target <= 10 ms), against the GROUP BY they replaced.
# Usage: bench/run-history.sh [ROWS] [SECONDS]   (default 10000000 rows, 20 s per ingest measurement)
#   ONLY="lookups retention" (any of ingest, lookups, retention, queue; default all) runs only those parts.
# Needs wrk (Debian package wrk). Everything it starts is stopped on exit (start-dispatch.sh), the data dir removed.
set -euo pipefail
ROWS=${1:-10000000}; SECS=${2:-20}
export RLG_INGEST_MAXBACKLOG=100000000 RLG_RETENTION_INTERVAL=24h # the benchmark starts the retention run itself
source "$(dirname "$0")/start-dispatch.sh"
PGPORT=$(grep -o 'on port [0-9]*' gateway.log | head -1 | awk '{print $3}')
M="http://127.0.0.1:$MGMT_PORT"
hb() { java -cp "$CP" dev.roverlogout.bench.HistoryBench "$@" mgmt="$MGMT_PORT" admin="$ADMIN" pg="$PGPORT"; }
env_paused() { # a PAUSED environment: its check-ins queue jobs (the most expensive ingest) and nothing calls Epic
  curl -sf -X POST "$M/admin/environments" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d "{\"id\":\"$1\",\"interconnectUrl\":\"https://epic.example.org\",\"clientId\":\"$1\",\"rateLimitPerSecond\":100}" >/dev/null
  curl -sf -X POST "$M/admin/environments/$1/activate" -H "Authorization: Bearer $ADMIN" >/dev/null
  curl -sf -X POST "$M/admin/environments/$1/pause" -H "Authorization: Bearer $ADMIN" >/dev/null
}
wrk_run() { # BATCH CONNECTIONS ENV -> prints events/s
  BATCH=$1 TOKEN=$INGEST ENV=$3 wrk -t2 -c"$2" -d5s -s "$ROOT/bench/checkins.lua" "http://127.0.0.1:$PUB_PORT" >/dev/null 2>&1 || true
  BATCH=$1 TOKEN=$INGEST ENV=$3 wrk -t2 -c"$2" -d"${SECS}s" -s "$ROOT/bench/checkins.lua" "http://127.0.0.1:$PUB_PORT" > wrk.txt 2>&1
  awk -v b="$1" '/Requests\/sec/ {printf "%.0f\n", $2 * b}' wrk.txt
}
drain() { # ENV INSTANCE -> prints calls/s
  # bound by the work (claims, calls, outcome writes), not by a rate: the environment's rate is far above what the
  # machine can do, as in the side-by-side drain. (Until 2026-12 this drained at rate 5000 burst 500, which leaves
  # the lane a one-token bucket: one call per pump or 1 ms timer, whose speed varied 1,006-1,547 calls/s between
  # eight drains of one empty database; see BENCHMARKS.md.)
  java -cp "$CP" dev.roverlogout.bench.DispatchBench drain env="$1" instance="$2" devices=20000 rate=100000 burst=100000 \
    concurrency=64 simLimit=0 pub="$PUB_PORT" mgmt="$MGMT_PORT" sim="$SIM_PORT" admin="$ADMIN" ingest="$INGEST" gwPid="$GW" \
    simPid="$SIM" work="$WORK" > "drain-$1.txt"
  grep -o 'RESULT drain seconds=[0-9.]*' "drain-$1.txt" | awk -F= '{printf "%.0f\n", 20000 / $2}'
}
phase() { # LABEL
  env_paused "ingest-$1"
  local b100 single calls1 calls2 calls
  b100=$(wrk_run 100 16 "ingest-$1"); single=$(wrk_run 1 64 "ingest-$1")
  calls1=$(drain "drain-$1" "Drain$1"); calls2=$(drain "drain2-$1" "Drain2$1"); calls=$(( (calls1 + calls2) / 2 ))
  echo "RESULT phase=$1 ingest_batch100_events_per_s=$b100 ingest_single_events_per_s=$single drain_calls_per_s=$calls ($calls1, $calls2)"
  eval "B100_$1=$b100 SINGLE_$1=$single CALLS_$1=$calls"
}
ONLY=${ONLY:-ingest lookups retention queue}
want() { [[ " $ONLY " == *" $1 "* ]]; }
if want ingest; then
  echo "== 1. empty database"
  drain warm Warm > /dev/null # a first drain JIT-compiles the dispatch code of both JVMs: left out of the figures
  phase empty
fi
echo "== 2. adding $ROWS historical rows"
curl -sf -X POST "$M/admin/environments" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"id":"hist","interconnectUrl":"https://epic.example.org","clientId":"hist","rateLimitPerSecond":100}' >/dev/null
hb fill rows="$ROWS"
if want ingest; then
  echo "== 3. with the history"; phase history
  awk -v a="$B100_empty" -v b="$B100_history" -v c="$SINGLE_empty" -v d="$SINGLE_history" -v e="$CALLS_empty" -v f="$CALLS_history" \
    'BEGIN {printf "RESULT ratios (history / empty): batch100 %.3f, single %.3f, drain %.3f (target >= 0.9)\n", b/a, d/c, f/e}'
fi
if want lookups; then echo "== 4. device history lookups"; hb lookups samples=2000; fi
if want retention; then
echo "== 5. ack latency at 2,000 single events/s, without and with the retention cleaner"
env_paused latency
java -cp "$CP" dev.roverlogout.bench.OpenLoopIngest "$PUB_PORT" "$INGEST" latency 2000 60 15 | tee ol-without.txt
curl -sf -X POST "$M/admin/retention/run" -H "Authorization: Bearer $ADMIN" >/dev/null
RUN_START=$(date +%s)
sleep 2
java -cp "$CP" dev.roverlogout.bench.OpenLoopIngest "$PUB_PORT" "$INGEST" latency 2000 60 15 | tee ol-with.txt
curl -sf "$M/admin/retention" -H "Authorization: Bearer $ADMIN" | grep -q '"running":{' && echo "(the cleaner was still running at the end of the window)"
until curl -sf "$M/admin/retention" -H "Authorization: Bearer $ADMIN" | grep -q '"running":null'; do sleep 5; done
echo "RESULT retention $(curl -sf "$M/admin/retention" -H "Authorization: Bearer $ADMIN") wall=$(( $(date +%s) - RUN_START ))s"
fi
if want queue; then echo "== 6. queue statistics"; hb queue queued=1000000; hb queue queued=10000000; fi
grep -c -E ' (WARN|ERROR) ' gateway.log | xargs -I{} echo "gateway log: {} WARN/ERROR lines" || true
