# Sourced by the bench scripts: starts the gateway jar on a fresh embedded database in a temporary directory
# with one READY environment "bench", and stops it (and removes the directory) on exit.
# Sets: ROOT, WORK, GW (pid), INGEST (token), PGPORT (the embedded PostgreSQL).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d /tmp/rlg-bench.XXXX)
(cd "$ROOT" && mvn -B -q -DskipTests package test-compile)
cd "$WORK"
# ingest is measured alone: the "bench" environment points at an Epic that does not exist, and lanes retrying
# it would add their own load (set RLG_DISPATCH_ENABLED=true to include them)
RLG_INGEST_RATELIMITPERSECOND=${RLG_INGEST_RATELIMITPERSECOND:-0} RLG_HTTP_HOST=127.0.0.1 RLG_LOGGING_FORMAT=plain RLG_EPIC_ALLOWPRIVATENETWORKS=true RLG_DISPATCH_ENABLED=${RLG_DISPATCH_ENABLED:-false} java ${JAVA_OPTS:-} -jar "$ROOT/target/rover-logout-gateway.jar" > gateway.log 2>&1 &
GW=$!
cleanup() { kill "$GW" 2>/dev/null || true; wait "$GW" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 60); do curl -sf localhost:8081/health/ready >/dev/null && break; sleep 1; done
ADMIN=$(grep '^admin=' data/tokens.properties | cut -d= -f2)
INGEST=$(grep '^ingest=' data/tokens.properties | cut -d= -f2)
curl -sf -X POST localhost:8081/admin/environments -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d '{"id":"bench","interconnectUrl":"https://epic.example.org","clientId":"bench","rateLimitPerSecond":100}' >/dev/null
curl -sf -X POST localhost:8081/admin/environments/bench/activate -H "Authorization: Bearer $ADMIN" >/dev/null
PGPORT=$(grep -o 'on port [0-9]*' gateway.log | head -1 | awk '{print $3}')
