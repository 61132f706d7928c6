package dev.roverlogout.ingest;

import java.util.HashMap;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.http.Problem;

/**
 * The log line of a refused check-in request, at most {@link #PER_WINDOW} per reason every ten seconds. Anyone who
 * reaches the public port can make refusals (401s need no token), and at a database failover thousands of lockers
 * retry at once: one line per request would flood the logs exactly when they are read. The metrics count every
 * refusal ({@code rlg_ingest_rejected_total}); the lines are samples with their request ids, and when a window
 * dropped some, the next line of that reason says how many. Client-chosen text (an unknown environment id in a
 * 422's detail) is cut short and stripped of control characters, so it cannot forge log lines.
 */
final class RefusalLog {
    static final int PER_WINDOW = 20;
    private static final long WINDOW_NANOS = 10_000_000_000L;
    private static final int MAX_DETAIL = 200;
    private static final Logger log = LoggerFactory.getLogger(CheckInRoutes.class);

    private final Map<String, long[]> windows = new HashMap<>(); // reason -> {window start, logged, dropped}

    /** Logs the refusal of request {@code requestId} unless its reason's budget is spent. */
    void refused(String requestId, String reason, Problem p, long nowNanos) {
        long dropped;
        synchronized (this) {
            long[] w = windows.computeIfAbsent(reason, r -> new long[] {nowNanos, 0, 0});
            if (nowNanos - w[0] >= WINDOW_NANOS) {
                w[0] = nowNanos;
                w[1] = 0;
            }
            if (w[1] >= PER_WINDOW) {
                w[2]++;
                return;
            }
            w[1]++;
            dropped = w[2];
            w[2] = 0;
        }
        (p.status() >= 500 ? log.atWarn() : log.atInfo())
                .addKeyValue("requestId", requestId).addKeyValue("httpStatus", p.status()).addKeyValue("reason", reason)
                .log("Check-in request refused: {} {}{}", p.status(), clean(p.getMessage()),
                        dropped == 0 ? "" : " (" + dropped + " more '" + reason + "' refusals not logged before this one)");
    }

    static String clean(String text) {
        if (text == null) {
            return "";
        }
        String cut = text.length() > MAX_DETAIL ? text.substring(0, MAX_DETAIL) + "..." : text;
        StringBuilder b = new StringBuilder(cut.length());
        cut.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return b.toString();
    }
}
