package dev.roverlogout.loadtest;

import java.util.Locale;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The words of {@code report.html}: each pass criterion as a sentence a load tester reads (report.json keeps its
 * keys), and one-line explanations of the numbers that surprise, each shown only when its number does.
 */
final class ReportText {
    private ReportText() {
    }

    /** The criterion {@code key} (as in report.json's {@code pass.checks[].criterion}) with its limit, in words. */
    static String criterion(String key, double max) {
        String n = Report.fmt(max);
        boolean none = max == 0;
        return switch (key) {
            case "lost" -> none ? "Every acknowledged check-in still due a call was called at Epic"
                    : "At most " + n + " acknowledged check-ins never called at Epic";
            case "duplicates" -> none ? "No device was called at Epic more than once" : "At most " + n + " calls beyond one per device";
            case "callsAfterCheckOut" -> none ? "No call reached Epic after the device's check-out was acknowledged (race tolerance aside)"
                    : "At most " + n + " calls reached Epic after the device's check-out was acknowledged";
            case "overLimitWindows" -> none ? "Epic never got more than limit + burst requests in one second"
                    : "At most " + n + " seconds with more than limit + burst requests at Epic";
            case "rateLimited429" -> none ? "Epic never answered 429 Too Many Requests" : "At most " + n + " 429 answers from Epic";
            case "droppedArrivals" -> none ? "Every request left on time (none dropped because maxInFlight were outstanding)"
                    : "At most " + n + " requests dropped because maxInFlight were outstanding";
            case "errors" -> none ? "Every valid request was acknowledged (no 5xx, unexpected 4xx or missing answer)"
                    : "At most " + n + " requests answered with an error or not at all";
            case "unexpectedAnswers" -> none ? "Every answer kept the contract (re-sends all duplicate, invalid requests 400)"
                    : "At most " + n + " answers that broke the contract";
            case "p99AckMillis" -> "99 % of requests acknowledged within " + n + " ms";
            case "p999AckMillis" -> "99.9 % of requests acknowledged within " + n + " ms";
            case "drainRatio" -> "Every environment drained within " + n + " × the time at exactly its limit";
            case "e2eP99Millis" -> "99 % of check-ins called at Epic within " + n + " ms";
            default -> key + " at most " + n;
        };
    }

    /** The measured value of criterion {@code key}, with its unit. */
    static String measured(String key, double value) {
        if (key.endsWith("Millis")) {
            return Report.fmt(value) + " ms";
        }
        return key.equals("drainRatio") ? String.format(Locale.ROOT, "%.2f ×", value) : Report.fmt(value);
    }

    /**
     * Why more devices were called than were due a call, or null when they were not: "called" counts every device
     * Epic disassociated, "due a call" leaves out the devices with a check-out and those never acknowledged.
     */
    static String calledBeyondDue(JsonObject epic) {
        long called = epic.getLong("called");
        long due = epic.getLong("dueCalls");
        if (called <= due) {
            return null;
        }
        long withoutAck = epic.getLong("calledWithoutAck");
        long checkedOut = called - (due - epic.getLong("lost")) - withoutAck;
        StringBuilder b = new StringBuilder("Why called > due:");
        if (checkedOut > 0) {
            b.append(' ').append(checkedOut).append(" of the devices called also had a check-out (next user); a call "
                    + "before the check-out arrived is right, one after it counts as a call after check-out (")
                    .append(epic.getLong("callsAfterCheckOut")).append(").");
        }
        if (withoutAck > 0) {
            b.append(' ').append(withoutAck).append(" were called although their check-in got no 202 (an error answer can "
                    + "leave the commit unknown).");
        }
        return b.toString();
    }

    /**
     * Why check-in → Epic call p99 is a second or more, or null when it is not or no cause is in the numbers: an
     * environment called at its limit (its check-ins wait in its queue), and Epic's 503s, retried later.
     */
    static String e2eSeconds(JsonObject epic, JsonArray environments) {
        JsonObject e2e = epic.getJsonObject("e2eMillis");
        if (e2e.getLong("count", 0L) == 0 || e2e.getDouble("p99") < 1000) {
            return null;
        }
        JsonObject busiest = null;
        long busiestSeconds = 0;
        for (Object o : environments) {
            long n = secondsAtLimit((JsonObject) o);
            if (n > busiestSeconds) {
                busiest = (JsonObject) o;
                busiestSeconds = n;
            }
        }
        StringBuilder b = new StringBuilder();
        if (busiestSeconds >= 2) {
            b.append(busiest.getString("environmentId")).append(" ran at its Epic limit (")
                    .append(Report.fmt(busiest.getDouble("limitPerSecond"))).append("/s) for ").append(busiestSeconds)
                    .append(" s; the check-ins beyond it waited in its queue, as designed (drain ratio ")
                    .append(String.format(Locale.ROOT, "%.2f", busiest.getDouble("drainRatio")))
                    .append("; 1 = as fast as the limit allows).");
        }
        long failed = epic.getLong("failed503");
        if (failed > 0) {
            b.append(b.length() > 0 ? " " : "").append("Epic answered ").append(failed)
                    .append(" calls with 503 (failures or outage); the gateway retried them later.");
        }
        return b.length() == 0 ? null : String.format(Locale.ROOT, "Why p99 is %.1f s: ", e2e.getDouble("p99") / 1000) + b;
    }

    /** Wall-clock seconds in which Epic got at least 95 % of the environment's limit in calls. */
    static long secondsAtLimit(JsonObject environment) {
        double limit = environment.getDouble("limitPerSecond");
        JsonObject perSecond = environment.getJsonObject("callsPerSecond");
        return perSecond.fieldNames().stream().filter(s -> perSecond.getLong(s) >= 0.95 * limit).count();
    }

    /**
     * What the ratio to bare PostgreSQL means when the gateway took everything offered, or null when it did not
     * (then the ratio is near what it can take).
     */
    static String ingestRatio(JsonObject ingest) {
        if (ingest.getLong("droppedArrivals") > 0 || ingest.getLong("errors") > 0) {
            return null;
        }
        return "Nothing was dropped or failed: the gateway kept up with the offered load, so the ratio measures that load, "
                + "not the gateway's ceiling (the ingest-capacity scenario measures that).";
    }
}
