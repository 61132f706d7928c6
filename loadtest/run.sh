#!/usr/bin/env bash
# Runs a load test scenario end to end: builds the jar if needed, starts the Epic simulator and a gateway (dispatch
# on, fresh embedded PostgreSQL in the results directory), runs `loadtest SCENARIO` against them, and stops
# everything it started by PID (also on Ctrl-C). Leaves loadtest/results/<timestamp>-<scenario>/ with report.json,
# report.html, gateway.log, sim.log and loadtest.log. Exit status = the load test's (0 passed, 1 failed, 2 usage).
#
# Usage: loadtest/run.sh SCENARIO            (a name in loadtest/scenarios/ or a file)
# Environment: PUB_PORT/MGMT_PORT/SIM_PORT (default 28080/28081/29090), JAVA_OPTS (gateway JVM),
#   RLG_INGEST_RATELIMITPERSECOND (default 0 here: the scenarios measure the gateway, and ingest-capacity offers
#   30,000 events/s, above the production default of 10,000 per replica; the others stay far below it),
#   SKIP_BUILD=1 (use the existing target/rover-logout-gateway.jar)
set -euo pipefail
SCENARIO=${1:?usage: loadtest/run.sh SCENARIO}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
NAME=$(basename "$SCENARIO" .yaml)
OUT="$ROOT/loadtest/results/$(date -u +%Y%m%d-%H%M%S)-$NAME"
PUB_PORT=${PUB_PORT:-28080}; MGMT_PORT=${MGMT_PORT:-28081}; SIM_PORT=${SIM_PORT:-29090}
for p in "$PUB_PORT" "$MGMT_PORT" "$SIM_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p is in use; set PUB_PORT/MGMT_PORT/SIM_PORT" >&2; exit 2; fi
done
if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -f target/rover-logout-gateway.jar ]; then
  # Maven 3.8 writes colour-reset codes even in batch mode; a log or CI page gets none
  mvn -B -q -Dstyle.color=never -DskipTests package 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g'
fi
JAR="$ROOT/target/rover-logout-gateway.jar"
mkdir -p "$OUT"
GW=""; SIM=""; LT=""
stop() {
  if [ -n "$LT" ]; then kill "$LT" 2>/dev/null || true; wait "$LT" 2>/dev/null || true; fi
  if [ -n "$GW" ]; then kill "$GW" 2>/dev/null || true; wait "$GW" 2>/dev/null || true; fi   # drains, stops PostgreSQL
  if [ -n "$SIM" ]; then kill "$SIM" 2>/dev/null || true; wait "$SIM" 2>/dev/null || true; fi
  rm -rf "$OUT/data"
}
trap stop EXIT
trap 'exit 130' INT TERM
printf 'host: 127.0.0.1\nport: %s\ninstances: []\n' "$SIM_PORT" > "$OUT/epic-sim.yaml"
java -jar "$JAR" epic-sim --config "$OUT/epic-sim.yaml" > "$OUT/sim.log" 2>&1 &
SIM=$!
(cd "$OUT" && RLG_HTTP_HOST=127.0.0.1 RLG_HTTP_PORT=$PUB_PORT RLG_MANAGEMENT_PORT=$MGMT_PORT \
  RLG_PUBLICBASEURL=http://127.0.0.1:$PUB_PORT RLG_LOGGING_FORMAT=plain RLG_DISPATCH_ENABLED=true RLG_EPIC_ALLOWPRIVATENETWORKS=true \
  RLG_INGEST_RATELIMITPERSECOND=${RLG_INGEST_RATELIMITPERSECOND:-0} \
  exec java ${JAVA_OPTS:-} -jar "$JAR" > "$OUT/gateway.log" 2>&1) &
GW=$!
for _ in $(seq 1 120); do curl -sf "127.0.0.1:$MGMT_PORT/health/ready" >/dev/null && break; sleep 1; done
curl -sf "127.0.0.1:$MGMT_PORT/health/ready" >/dev/null || { echo "gateway not ready; see $OUT/gateway.log" >&2; exit 1; }
for _ in $(seq 1 30); do curl -sf "127.0.0.1:$SIM_PORT/_sim/stats?devices=false" >/dev/null && break; sleep 1; done
PGPORT=$(grep -o 'Embedded PostgreSQL running on port [0-9]*' "$OUT/gateway.log" | head -1 | awk '{print $NF}' || true)
[ -n "$PGPORT" ] || { echo "cannot find the embedded PostgreSQL's port in $OUT/gateway.log" >&2; exit 1; }
# first the bare database's own insert rate (10 s), so that the report states the ingest as a ratio of it. The driver
# runs in the background and the script waits for it: bash runs traps only between commands, and `wait` is one that
# a signal interrupts, so SIGTERM (a CI timeout, kill) stops everything at once, not after the scenario.
java -jar "$JAR" loadtest "$SCENARIO" --database "postgresql://postgres@127.0.0.1:$PGPORT/postgres" \
  --gateway "http://127.0.0.1:$PUB_PORT" --management "http://127.0.0.1:$MGMT_PORT" --sim "http://127.0.0.1:$SIM_PORT" \
  --tokens "$OUT/data/tokens.properties" --out "$OUT" > "$OUT/loadtest.log" 2>&1 &
LT=$!
tail -n +1 -f --pid="$LT" "$OUT/loadtest.log" &
set +e
wait "$LT"
STATUS=$?
set -e
LT=""
sleep 0.2
echo "results: $OUT"
exit "$STATUS"
