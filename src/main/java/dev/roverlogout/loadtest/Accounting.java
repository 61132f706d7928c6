package dev.roverlogout.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.HdrHistogram.Histogram;

import io.vertx.core.json.JsonObject;

/**
 * What Epic (the simulator) saw, held against what the driver knows was acknowledged: per environment, lost
 * calls, duplicates, calls after a check-out, the busiest sliding second against limit + burst, drain against a
 * server at exactly the limit, and check-in -> call latency. Pure: the driver fetches, this counts.
 */
final class Accounting {
    private static final long HIGHEST_MICROS = java.util.concurrent.TimeUnit.SECONDS.toMicros(1200);

    private final Scenario scenario;
    private final long startEpochMillis;
    private final Set<String> checkInAccepted;
    private final Map<String, Long> checkOutAckedAt;
    private final Set<String> checkOutUnanswered;
    private final Histogram e2eAll = new Histogram(HIGHEST_MICROS, 3);

    /**
     * @param checkInAccepted    devices whose check-in got a 202
     * @param checkOutAckedAt    devices whose check-out got a 202, and when (epoch ms)
     * @param checkOutUnanswered devices whose check-out got an error or no answer (it may still be stored)
     */
    Accounting(Scenario scenario, long startEpochMillis, Set<String> checkInAccepted, Map<String, Long> checkOutAckedAt,
               Set<String> checkOutUnanswered) {
        this.scenario = scenario;
        this.startEpochMillis = startEpochMillis;
        this.checkInAccepted = checkInAccepted;
        this.checkOutAckedAt = checkOutAckedAt;
        this.checkOutUnanswered = checkOutUnanswered;
    }

    /** Check-in -> first Epic call over every environment counted so far. */
    Histogram e2eAll() {
        return e2eAll;
    }

    /**
     * One environment's numbers from the simulator's per-device calls ({@code GET /_sim/instances/{name}/calls})
     * and its stats ({@code inst}: callsPerSecond, rateLimited, injectedErrors).
     */
    JsonObject environment(String environmentId, double weight, List<Schedule.Device> devicesOfEnv, JsonObject calls,
                           JsonObject inst) {
        JsonObject devices = calls.getJsonObject("devices", new JsonObject());
        long accepted = 0;
        long due = 0;
        long lost = 0;
        long duplicates = 0;
        long afterCheckOut = 0;
        long afterCheckOutStrict = 0;
        long ambiguous = 0;
        long calledWithoutAck = 0;
        long first = Long.MAX_VALUE;
        long last = 0;
        long totalCalls = 0;
        Histogram e2e = new Histogram(HIGHEST_MICROS, 3);
        List<Long> calledDue = new ArrayList<>(); // check-in due times of the devices called
        for (Schedule.Device d : devicesOfEnv) {
            JsonObject c = devices.getJsonObject(d.id());
            long n = c == null ? 0 : c.getLong("calls");
            if (n > 0) {
                calledDue.add(startEpochMillis + d.checkInAtMillis());
            }
            totalCalls += n;
            duplicates += Math.max(0, n - 1);
            if (c != null) {
                first = Math.min(first, c.getLong("first"));
                last = Math.max(last, c.getLong("last"));
            }
            if (!checkInAccepted.contains(d.id())) {
                // never acknowledged (dropped, 4xx/5xx, no answer): the locker would retry; a call is allowed (a
                // 503 may say the commit outcome is unknown) but counted
                calledWithoutAck += n > 0 ? 1 : 0;
                continue;
            }
            accepted++;
            long checkInDue = startEpochMillis + d.checkInAtMillis();
            Long outAck = checkOutAckedAt.get(d.id());
            if (outAck == null && checkOutUnanswered.contains(d.id())) {
                ambiguous++; // the check-out may or may not be stored: a call and no call are both right
            } else if (outAck == null) {
                due++;
                if (n == 0) {
                    lost++;
                } else {
                    long micros = Math.max(0, (c.getLong("first") - checkInDue) * 1000);
                    e2e.recordValue(Math.min(micros, e2e.getHighestTrackableValue()));
                    e2eAll.recordValue(Math.min(micros, e2eAll.getHighestTrackableValue()));
                }
            } else if (c != null && c.getLong("last") > outAck) {
                afterCheckOutStrict++;
                if (c.getLong("last") > outAck + scenario.pass().raceToleranceMillis()) {
                    afterCheckOut++;
                }
            }
        }
        double limit = scenario.environments().rateLimitPerSecond();
        int burst = scenario.environments().burst();
        long maxSliding = calls.getLong("maxInAnySecond", 0L);
        long overLimitSeconds = 0;
        JsonObject perSecond = inst.getJsonObject("callsPerSecond", new JsonObject());
        for (String sec : perSecond.fieldNames()) {
            if (perSecond.getLong(sec) > limit + burst) {
                overLimitSeconds++;
            }
        }
        double spanSeconds = totalCalls > 0 ? Math.max(0.001, (last - first) / 1000.0) : 0;
        double theoretical = fluidSpan(calledDue, limit, burst);
        return new JsonObject().put("environmentId", environmentId).put("weight", weight)
                .put("devices", devicesOfEnv.size()).put("acceptedCheckIns", accepted)
                .put("dueCalls", due).put("called", devices.size()).put("calls", totalCalls).put("lost", lost)
                .put("duplicates", duplicates).put("callsAfterCheckOut", afterCheckOut)
                .put("callsAfterCheckOutAck", afterCheckOutStrict).put("ambiguousCheckOuts", ambiguous)
                .put("calledWithoutAck", calledWithoutAck)
                .put("limitPerSecond", limit).put("burst", burst).put("maxInAnySecond", maxSliding)
                .put("overLimitWindows", (maxSliding > limit + burst ? 1 : 0) + overLimitSeconds)
                .put("rateLimited429", inst.getLong("rateLimited", 0L))
                .put("failed503", inst.getLong("injectedErrors", 0L))
                .put("callSpanSeconds", spanSeconds).put("meanRate", spanSeconds > 0 ? totalCalls / spanSeconds : 0)
                .put("theoreticalSeconds", theoretical)
                .put("drainRatio", theoretical > 0 ? spanSeconds / theoretical : 0)
                .put("e2eMillis", percentiles(e2e)).put("callsPerSecond", perSecond);
    }

    /**
     * The shortest time from the first call to the last that a server at exactly {@code rate} per second (with
     * {@code burst} to start with) needs for these arrivals: the last arrival, or the backlog behind the busiest
     * stretch, whichever ends later. Measured span ÷ this = the drain ratio.
     */
    static double fluidSpan(List<Long> arrivals, double rate, int burst) {
        if (arrivals.isEmpty()) {
            return 0;
        }
        List<Long> t = new ArrayList<>(arrivals);
        t.sort(null);
        long first = t.get(0);
        double end = 0;
        int n = t.size();
        for (int i = 0; i < n; i++) {
            end = Math.max(end, (t.get(i) - first) / 1000.0 + Math.max(0, n - i - burst) / rate);
        }
        return end;
    }

    static JsonObject percentiles(Histogram h) {
        JsonObject o = new JsonObject().put("count", h.getTotalCount());
        if (h.getTotalCount() == 0) {
            return o;
        }
        for (double p : new double[] {50, 90, 99, 99.9, 100}) {
            o.put("p" + (p == 100 ? "100" : (p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p))),
                    h.getValueAtPercentile(p) / 1000.0);
        }
        return o.put("mean", h.getMean() / 1000.0);
    }
}
