#!/usr/bin/env bash
# Dispatch benchmarks (issue 4 targets) against the project's Epic simulator; the driver is
# src/test/java/dev/roverlogout/bench/DispatchBench.java, which creates the environments and simulator instances,
# builds the backlogs, measures and prints a summary.
#
# Usage: bench/run-dispatch.sh drain|e2e|multi [key=value ...]
#   drain  10,000-device backlog built while the environment is PAUSED, then /resume: one environment at 100/s,
#          burst 10, simulator instance limited to rate+burst per second (a 429 would show an over-limit second).
#          Keys: devices=10000 rate=100 burst=10 concurrency=8 simLimit=110
#   e2e    open-loop single-event check-ins at 50/s for 60 s (+10 s warm-up left out) to one environment at
#          100/s; check-in -> Epic answer from rlg_checkin_to_disassociation_seconds, plus the driver's ack latency.
#          Keys: offered=50 seconds=60 warmup=10 rate=100 burst=10 concurrency=8
#   multi  50 environments x 1,200 devices built while PAUSED, then all resumed; total Epic calls/s at the
#          simulator (unlimited instances). First a warm-up drain of `warmup` devices per environment (left out: it
#          JIT-compiles the dispatch path of gateway and simulator), then the measured one.
#          Keys: envs=50 devices=1200 warmup=400 rate=1000 burst=100 concurrency=32
# Environment: JAVA_OPTS (gateway JVM, e.g. -XX:StartFlightRecording=filename=/tmp/rlg.jfr,settings=profile),
#   SIM_JAVA_OPTS (default -XX:TieredStopAtLevel=1, see start-dispatch.sh), PUB_PORT/MGMT_PORT/SIM_PORT (default 18080/18081/19090), BENCH_SKIP_BUILD=1, BENCH_KEEP=1
#   (keep the temp dir with gateway.log and sim.log).
set -euo pipefail
SCENARIO=${1:?usage: bench/run-dispatch.sh drain|e2e|multi [key=value ...]}
shift
case "$SCENARIO" in drain|e2e|multi) ;; *) echo "unknown scenario $SCENARIO (drain|e2e|multi)" >&2; exit 2 ;; esac
source "$(dirname "$0")/start-dispatch.sh"
java -cp "$CP" dev.roverlogout.bench.DispatchBench "$SCENARIO" pub="$PUB_PORT" mgmt="$MGMT_PORT" sim="$SIM_PORT" \
  admin="$ADMIN" ingest="$INGEST" gwPid="$GW" simPid="$SIM" work="$WORK" "$@"
grep -c -E ' (WARN|ERROR) ' gateway.log | xargs -I{} echo "gateway log: {} WARN/ERROR lines" || true
grep -E ' (WARN|ERROR) ' gateway.log | sed -E 's/^[^ ]+ [^ ]+ //' | cut -c1-160 | sort | uniq -c | sort -rn | head -5 || true
# jobs a lane claimed but let go unsent after holding them dispatch.leaseDuration/4; they wait for the lease to run out
grep -E 'Rescued [0-9]+ jobs' gateway.log | sed -E 's/^[0-9-]+T([0-9:.]+)Z.* - /gateway log: \1 /' || true
