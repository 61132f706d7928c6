#!/usr/bin/env bash
# Ack latency at a fixed offered rate of single-event check-ins: open loop, each latency measured from the
# request's intended send time (no coordinated omission); 15 s of warm-up at the same rate are left out.
# Usage: bench/run-latency.sh [RATE] [SECONDS]
set -euo pipefail
RATE=${1:-2000}; SECS=${2:-30}
source "$(dirname "$0")/start-gateway.sh"
cd "$ROOT"
CP="target/test-classes:target/classes:$(mvn -B -q -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile=/dev/stdout)"
java -cp "$CP" dev.roverlogout.bench.OpenLoopIngest 8080 "$INGEST" bench "$RATE" "$SECS" 15
curl -s localhost:8081/metrics | grep -E '^rlg_ingest_(commits_total|group_events_(sum|count))' || true
