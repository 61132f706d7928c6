#!/usr/bin/env bash
# Ack latency at a fixed offered rate (open loop, latency from the intended send time).
# Starts the gateway jar on a fresh embedded database with one READY environment.
# Usage: bench/run-latency.sh [RATE] [SECONDS]
set -euo pipefail
RATE=${1:-2000}; SECS=${2:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/rlg-lat.XXXX)
cd "$ROOT"
mvn -B -q -DskipTests package test-compile
CP="target/test-classes:target/classes:$(mvn -B -q -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile=/dev/stdout)"
cd "$WORK"
RLG_HTTP_HOST=127.0.0.1 java ${JAVA_OPTS:-} -jar "$ROOT/target/rover-logout-gateway.jar" > gateway.log 2>&1 &
GW=$!
cleanup() { kill "$GW" 2>/dev/null || true; wait "$GW" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 60); do curl -sf localhost:8081/health/ready >/dev/null && break; sleep 1; done
ADMIN=$(grep '^admin=' data/tokens.properties | cut -d= -f2); INGEST=$(grep '^ingest=' data/tokens.properties | cut -d= -f2)
curl -sf -X POST localhost:8081/admin/environments -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"id":"bench","interconnectUrl":"https://epic.example.org","clientId":"bench","rateLimitPerSecond":100}' >/dev/null
curl -sf -X POST localhost:8081/admin/environments/bench/activate -H "Authorization: Bearer $ADMIN" >/dev/null
cd "$ROOT"
java -cp "$CP" dev.roverlogout.bench.OpenLoopIngest 8080 "$INGEST" bench "$RATE" "$SECS" 15
