package dev.roverlogout.loadtest;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import io.vertx.core.json.JsonObject;

/**
 * A load test scenario ({@code loadtest/scenarios/*.yaml}): who comes back when, to which environments, what
 * Epic does meanwhile, and what must hold for the run to pass. Every field has a default; unknown fields are
 * refused (a misspelt pass criterion must not pass silently).
 *
 * @param devices        devices that come back, each with one check-in (the shift change)
 * @param seconds        over how long the check-ins arrive
 * @param profile        the arrival shape over {@code seconds}
 * @param environments   how many Epic environments, their limits and how the devices spread over them
 * @param batchSize      events per request (1..1000); a request leaves when its last event is due
 * @param checkOutShare  share of devices handed to the next user soon after their check-in (a CHECK_OUT follows)
 * @param checkOutDelayMillis the check-out follows the check-in by up to this much (uniform)
 * @param duplicateShare share of requests sent twice (a locker retrying): the second must be all duplicates
 * @param invalidShare   share of extra requests with an invalid event: they must be refused with 400
 * @param maxInFlight    requests outstanding before arrivals are dropped (reported, never hidden)
 * @param drainTimeoutSeconds how long to wait after the last request for the calls to arrive
 * @param seed           for the random choices (the same seed gives the same schedule)
 */
public record Scenario(String name, String description, int devices, double seconds, Profile profile,
                       Environments environments, Epic epic, int batchSize, double checkOutShare,
                       long checkOutDelayMillis, double duplicateShare, double invalidShare, int maxInFlight,
                       double drainTimeoutSeconds, long seed, Pass pass) {

    /**
     * {@code constant}: evenly spread; {@code ramp}: rising linearly from {@code startShare} of the peak rate to
     * the peak; {@code shift-change}: a base rate plus a bell-shaped peak at {@code peakAtShare} of the duration,
     * {@code peakWidthShare} wide (one standard deviation), {@code peakShare} of the devices in the peak.
     */
    public record Profile(String type, double startShare, double peakAtShare, double peakWidthShare, double peakShare) {
    }

    /**
     * @param skew zipf exponent of the devices over the environments: 0 = even, 1 = a few big hospitals
     */
    public record Environments(int count, double skew, double rateLimitPerSecond, int burst, int maxConcurrency) {
    }

    /**
     * What the simulated Epic does: its own rate limit ({@code 0} = the environment's limit + burst, {@code -1} =
     * none), latency, error rate, and an optional outage window (from {@code outageAtSeconds}, for
     * {@code outageSeconds}) measured from the start of sending.
     */
    public record Epic(int rateLimitPerSecond, int latencyMillis, double errorRate, double tailRate, int tailLatencyMillis,
                       double outageAtSeconds, double outageSeconds) {
    }

    /**
     * Pass criteria; a negative number means "not checked".
     *
     * @param callsAfterCheckOut calls that reached Epic more than {@code raceToleranceMillis} after the check-out
     *                           of their device was acknowledged
     * @param rateLimited429     429s from the simulator; with its default limit (the environment's limit + burst)
     *                           any 429 means the gateway called faster than allowed
     */
    public record Pass(long lost, long duplicates, long callsAfterCheckOut, long raceToleranceMillis,
                       long overLimitWindows, long rateLimited429, double p99AckMillis, double p999AckMillis,
                       double drainRatio, long droppedArrivals, long errors, double e2eP99Millis) {
    }

    private static final Set<String> TOP = Set.of("name", "description", "devices", "seconds", "profile", "environments",
            "epic", "batchSize", "checkOutShare", "checkOutDelayMillis", "duplicateShare", "invalidShare", "maxInFlight",
            "drainTimeoutSeconds", "seed", "pass");

    /** Reads a scenario file; {@link IllegalArgumentException} names the offending field. */
    public static Scenario load(Path file) throws IOException {
        try (Reader in = Files.newBufferedReader(file)) {
            Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
            if (!(root instanceof Map<?, ?> map)) {
                throw new IllegalArgumentException(file + " must hold a mapping");
            }
            @SuppressWarnings("unchecked")
            JsonObject o = new JsonObject((Map<String, Object>) map);
            String fallbackName = file.getFileName().toString().replaceFirst("\\.ya?ml$", "");
            return parse(o, fallbackName);
        } catch (org.yaml.snakeyaml.error.YAMLException e) {
            throw new IllegalArgumentException(file + " is not valid YAML: " + e.getMessage());
        }
    }

    static Scenario parse(JsonObject o, String fallbackName) {
        unknown(o, TOP, "");
        JsonObject p = object(o, "profile");
        unknown(p, Set.of("type", "startShare", "peakAtShare", "peakWidthShare", "peakShare"), "profile.");
        JsonObject e = object(o, "environments");
        unknown(e, Set.of("count", "skew", "rateLimitPerSecond", "burst", "maxConcurrency"), "environments.");
        JsonObject x = object(o, "epic");
        unknown(x, Set.of("rateLimitPerSecond", "latencyMillis", "errorRate", "tailRate", "tailLatencyMillis",
                "outageAtSeconds", "outageSeconds"), "epic.");
        JsonObject c = object(o, "pass");
        unknown(c, Set.of("lost", "duplicates", "callsAfterCheckOut", "raceToleranceMillis", "overLimitWindows", "rateLimited429",
                "p99AckMillis", "p999AckMillis", "drainRatio", "droppedArrivals", "errors", "e2eP99Millis"), "pass.");
        String type = p.getString("type", "constant");
        if (!Set.of("constant", "ramp", "shift-change").contains(type)) {
            throw new IllegalArgumentException("profile.type: '" + type + "' is not constant, ramp or shift-change");
        }
        Scenario s = new Scenario(o.getString("name", fallbackName), o.getString("description", ""),
                (int) range(o, "devices", 1000, 1, 10_000_000), range(o, "seconds", 30, 0.1, 86_400),
                new Profile(type, range(p, "startShare", 0.1, 0, 1), range(p, "peakAtShare", 0.3, 0, 1),
                        range(p, "peakWidthShare", 0.1, 0.001, 1), range(p, "peakShare", 0.7, 0, 1)),
                new Environments((int) range(e, "count", 1, 1, 1000), range(e, "skew", 0, 0, 5),
                        range(e, "rateLimitPerSecond", 50, 0.1, 100_000), (int) range(e, "burst", 10, 1, 100_000),
                        (int) range(e, "maxConcurrency", 8, 1, 1000)),
                new Epic((int) range(x, "rateLimitPerSecond", 0, -1, 1_000_000), (int) range(x, "latencyMillis", 0, 0, 60_000),
                        range(x, "errorRate", 0, 0, 1), range(x, "tailRate", 0, 0, 1), (int) range(x, "tailLatencyMillis", 0, 0, 60_000),
                        range(x, "outageAtSeconds", 0, 0, 86_400), range(x, "outageSeconds", 0, 0, 86_400)),
                (int) range(o, "batchSize", 1, 1, 1000), range(o, "checkOutShare", 0, 0, 1),
                (long) range(o, "checkOutDelayMillis", 2000, 0, 3_600_000), range(o, "duplicateShare", 0, 0, 1),
                range(o, "invalidShare", 0, 0, 1), (int) range(o, "maxInFlight", 2000, 1, 1_000_000),
                range(o, "drainTimeoutSeconds", 120, 1, 86_400), (long) range(o, "seed", 1, Long.MIN_VALUE, Long.MAX_VALUE),
                new Pass((long) range(c, "lost", 0, -1, 1e12), (long) range(c, "duplicates", 0, -1, 1e12),
                        (long) range(c, "callsAfterCheckOut", 0, -1, 1e12), (long) range(c, "raceToleranceMillis", 100, 0, 60_000),
                        (long) range(c, "overLimitWindows", 0, -1, 1e12),
                        (long) range(c, "rateLimited429", x.getValue("rateLimitPerSecond") == null
                                || ((Number) x.getValue("rateLimitPerSecond")).intValue() == 0 ? 0 : -1, -1, 1e12),
                        range(c, "p99AckMillis", -1, -1, 1e9),
                        range(c, "p999AckMillis", -1, -1, 1e9), range(c, "drainRatio", -1, -1, 1e9),
                        (long) range(c, "droppedArrivals", -1, -1, 1e12), (long) range(c, "errors", -1, -1, 1e12),
                        range(c, "e2eP99Millis", -1, -1, 1e9)));
        if (!s.name.matches("[a-z0-9-]{1,40}")) {
            throw new IllegalArgumentException("name: must match [a-z0-9-]{1,40}");
        }
        return s;
    }

    private static JsonObject object(JsonObject o, String key) {
        Object v = o.getValue(key);
        if (v == null) {
            return new JsonObject();
        }
        if (v instanceof JsonObject j) {
            return j;
        }
        throw new IllegalArgumentException(key + ": must be a mapping");
    }

    private static void unknown(JsonObject o, Set<String> known, String prefix) {
        for (String k : o.fieldNames()) {
            if (!known.contains(k)) {
                throw new IllegalArgumentException(prefix + k + ": unknown field (known: " + new java.util.TreeSet<>(known) + ")");
            }
        }
    }

    private static double range(JsonObject o, String key, double dflt, double min, double max) {
        Object v = o.getValue(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException(key + ": '" + v + "' is not a number");
        }
        double d = n.doubleValue();
        if (d < min || d > max || Double.isNaN(d)) {
            throw new IllegalArgumentException(key + ": " + v + " is out of range " + min + ".." + max);
        }
        return d;
    }

    /** The simulator's own per-second limit for an environment of this scenario (-1 = none). */
    public int simLimit() {
        return epic.rateLimitPerSecond == 0 ? (int) Math.ceil(environments.rateLimitPerSecond + environments.burst)
                : epic.rateLimitPerSecond;
    }
}
