# Sourced by bench/run-dispatch.sh: starts the Epic simulator (no instances; the driver adds them at runtime with
# PATCH /_sim/instances/{name}) and the gateway jar with dispatch enabled on a fresh embedded database in a temporary
# directory, and stops both (by PID) and removes the directory on exit.
# Ports (override with the same variables): gateway public 18080, management 18081, simulator 19090, so that a
# gateway or simulator on the default ports (8080/8081/9090) is not disturbed.
# Sets: ROOT, WORK, GW (gateway pid), SIM (simulator pid), ADMIN, INGEST (tokens), PUB_PORT, MGMT_PORT, SIM_PORT, CP.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PUB_PORT=${PUB_PORT:-18080}
MGMT_PORT=${MGMT_PORT:-18081}
SIM_PORT=${SIM_PORT:-19090}
for p in "$PUB_PORT" "$MGMT_PORT" "$SIM_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p is in use; set PUB_PORT/MGMT_PORT/SIM_PORT" >&2; exit 2; fi
done
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && mvn -B -q -DskipTests package test-compile)
fi
CP="$ROOT/target/test-classes:$ROOT/target/classes:$(cd "$ROOT" && mvn -B -q -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile=/dev/stdout)"
WORK=$(mktemp -d /tmp/rlg-dispatch.XXXX)
GW=""; SIM=""
cleanup() {
  # gateway first (SIGTERM: it drains and stops its embedded PostgreSQL), then the simulator
  if [ -n "$GW" ]; then kill "$GW" 2>/dev/null || true; wait "$GW" 2>/dev/null || true; fi
  if [ -n "$SIM" ]; then kill "$SIM" 2>/dev/null || true; wait "$SIM" 2>/dev/null || true; fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $WORK (gateway.log, sim.log)" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$WORK"
printf 'host: 127.0.0.1\nport: %s\ninstances: []\n' "$SIM_PORT" > epic-sim.yaml
# The simulator stands in for Epic's servers, which never share the gateway's cores. On this 2-core machine its C2
# JIT compilation took 59 % of its CPU during a 6-second drain (async-profiler), CPU the gateway then lacked; C1
# alone serves its simple endpoints well enough. SIM_JAVA_OPTS replaces this default.
java ${SIM_JAVA_OPTS--XX:TieredStopAtLevel=1} -jar "$ROOT/target/rover-logout-gateway.jar" epic-sim --config epic-sim.yaml > sim.log 2>&1 &
SIM=$!
RLG_INGEST_RATELIMITPERSECOND=${RLG_INGEST_RATELIMITPERSECOND:-0} RLG_HTTP_HOST=127.0.0.1 RLG_HTTP_PORT=$PUB_PORT RLG_MANAGEMENT_PORT=$MGMT_PORT \
  RLG_PUBLICBASEURL=http://127.0.0.1:$PUB_PORT RLG_LOGGING_FORMAT=plain RLG_DISPATCH_ENABLED=true RLG_EPIC_ALLOWPRIVATENETWORKS=true \
  java ${JAVA_OPTS:-} -jar "$ROOT/target/rover-logout-gateway.jar" > gateway.log 2>&1 &
GW=$!
for _ in $(seq 1 90); do curl -sf "localhost:$MGMT_PORT/health/ready" >/dev/null && break; sleep 1; done
curl -sf "localhost:$MGMT_PORT/health/ready" >/dev/null || { echo "gateway not ready; log:" >&2; tail -20 gateway.log >&2; exit 1; }
for _ in $(seq 1 30); do curl -sf "127.0.0.1:$SIM_PORT/_sim/stats" >/dev/null && break; sleep 1; done
curl -sf "127.0.0.1:$SIM_PORT/_sim/stats" >/dev/null || { echo "simulator not up; log:" >&2; tail -20 sim.log >&2; exit 1; }
ADMIN=$(grep '^admin=' data/tokens.properties | cut -d= -f2)
INGEST=$(grep '^ingest=' data/tokens.properties | cut -d= -f2)
