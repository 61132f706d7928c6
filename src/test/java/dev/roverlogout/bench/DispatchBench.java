package dev.roverlogout.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vertx.core.json.JsonObject;

/**
 * Dispatch benchmark driver (not a test), run by {@code bench/run-dispatch.sh SCENARIO}: creates environments and
 * matching simulator instances, builds backlogs while the environments are PAUSED, resumes them and measures at the
 * simulator (devices seen, calls per wall-clock second, duplicates, 429s) and at the gateway (RSS from
 * /proc/PID/status and heap from {@code jstat -gc}, sampled every second; the check-in to Epic answer histogram).
 * Arguments are {@code key=value}; see bench/run-dispatch.sh for the scenarios and their keys.
 */
public final class DispatchBench {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Map<String, String> opts;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final String pub;
    private final String mgmt;
    private final String sim;
    private final int simPort;
    private final String admin;
    private final String ingest;
    private final long gwPid;
    private final Path pgPidFile;
    private final long simPid;
    private final String run = Long.toString(System.currentTimeMillis(), 36);

    private DispatchBench(Map<String, String> opts) {
        this.opts = opts;
        pub = "http://127.0.0.1:" + req("pub");
        mgmt = "http://127.0.0.1:" + req("mgmt");
        simPort = Integer.parseInt(req("sim"));
        sim = "http://127.0.0.1:" + simPort;
        admin = req("admin");
        ingest = req("ingest");
        gwPid = Long.parseLong(req("gwPid"));
        simPid = opts.containsKey("simPid") ? Long.parseLong(opts.get("simPid")) : -1;
        pgPidFile = opts.containsKey("work") ? Path.of(opts.get("work"), "data", "pg", "postmaster.pid") : null;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq < 1) {
                throw new IllegalArgumentException("arguments are key=value: " + args[i]);
            }
            opts.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        DispatchBench b = new DispatchBench(opts);
        switch (args[0]) {
            case "drain" -> b.drain();
            case "e2e" -> b.e2e();
            case "multi" -> b.multi();
            default -> throw new IllegalArgumentException("scenario: drain, e2e or multi");
        }
        System.exit(0);
    }

    // ---------------------------------------------------------------- scenarios

    /** One environment, a backlog built while PAUSED, drained after /resume at the environment's rate. */
    private void drain() throws Exception {
        int devices = intOpt("devices", 10_000);
        double rate = dblOpt("rate", 100);
        int burst = intOpt("burst", 10);
        int concurrency = intOpt("concurrency", 8);
        int simLimit = intOpt("simLimit", (int) Math.ceil(rate) + burst);
        String env = opts.getOrDefault("env", "drain"); // bench/run-history.sh drains twice in one gateway
        String instance = opts.getOrDefault("instance", "Drain");
        createEnvironment(env, instance, rate, burst, concurrency, simLimit);
        testConnection(env);
        post(mgmt + "/admin/environments/" + env + "/pause", admin, null, 200);
        long t = System.nanoTime();
        ingestBacklog(List.of(env), devices, "b");
        System.out.printf(Locale.ROOT, "backlog of %d check-ins queued while PAUSED in %.1f s%n", devices, secs(t));
        Thread.sleep(1000);
        Sampler sampler = Sampler.start(gwPid, pgPidFile, simPid);
        long resumeMs = System.currentTimeMillis();
        long t0 = System.nanoTime();
        post(mgmt + "/admin/environments/" + env + "/resume", admin, null, 200);
        double resumeCall = secs(t0);
        Completion done = awaitDevices(List.of(instance), devices, t0, Duration.ofSeconds((long) (devices / rate * 2 + 60)));
        Sampler.Result mem = sampler.stop();
        JsonObject stats = simStats().getJsonObject(instance);
        PerSecond ps = PerSecond.of(List.of(stats), resumeMs);
        int effBurst = Math.max(1, burst - (int) Math.ceil(rate * 0.1)); // AdaptiveRate.effectiveBurst
        double theoretical = (devices - burst) / rate;
        double theoreticalEff = (devices - effBurst) / rate;

        System.out.println();
        System.out.printf(Locale.ROOT, "== drain: %d devices, environment rate %.0f/s burst %d (lane keeps burst %d), "
                + "maxConcurrency %d, sim limit %s%n", devices, rate, burst, effBurst, concurrency,
                simLimit == 0 ? "none" : simLimit + "/s");
        System.out.printf(Locale.ROOT, "drain time      %.2f s %s (resume call %.3f s, completion seen within %.2f s)%n",
                done.seconds, done.complete ? "" : "INCOMPLETE: " + done.seen + " devices", resumeCall, done.precision);
        System.out.printf(Locale.ROOT, "theoretical     (%d-%d)/%.0f = %.2f s -> ratio %.4f (target <= 1.03: %s); "
                + "with the lane's burst %d: %.2f s -> %.4f%n", devices, burst, rate, theoretical, done.seconds / theoretical,
                verdict(done.complete && done.seconds <= 1.03 * theoretical), effBurst, theoreticalEff, done.seconds / theoreticalEff);
        System.out.printf(Locale.ROOT, "max calls/s     %d in one wall-clock second (limit+burst %d: %s); full seconds "
                + "min/median/max %s; steady rate %.2f/s%n", ps.max, (int) Math.ceil(rate) + burst,
                verdict(ps.max <= rate + burst), ps.fullSecondsSummary(), ps.steadyRate());
        System.out.println("calls/second    " + ps.series());
        printSim(stats, devices);
        System.out.println(mem.describe());
        printOutcomes(env);
        printEpicDurations();
        System.out.printf(Locale.ROOT, "RESULT drain seconds=%.2f ratio=%.4f maxPerSecond=%d duplicates=%d rateLimited=%d "
                + "rssMaxMiB=%.0f heapMaxMiB=%.0f%n", done.seconds, done.seconds / theoretical, ps.max,
                stats.getLong("duplicateCalls"), stats.getLong("rateLimited"), mem.rssMax / 1024.0, mem.heapMax / 1024.0);
    }

    /** Open-loop single-event check-ins below the limit; check-in to Epic answer latency. */
    private void e2e() throws Exception {
        int offered = intOpt("offered", 50);
        int seconds = intOpt("seconds", 60);
        int warmup = intOpt("warmup", 10);
        double rate = dblOpt("rate", 100);
        int burst = intOpt("burst", 10);
        int concurrency = intOpt("concurrency", 8);
        String env = "e2e";
        String instance = "E2e";
        createEnvironment(env, instance, rate, burst, concurrency, intOpt("simLimit", 0));
        testConnection(env);
        Sampler sampler = Sampler.start(gwPid, pgPidFile, simPid);
        System.out.printf(Locale.ROOT, "warm-up: %d check-ins/s for %d s (left out)%n", offered, warmup);
        long[] warm = openLoop(env, "w", offered, warmup);
        awaitDevices(List.of(instance), warm.length, System.nanoTime(), Duration.ofSeconds(60));
        Thread.sleep(1000);
        Map<Double, Double> before = histogram(scrape(), "rlg_checkin_to_disassociation_seconds", env);
        System.out.printf(Locale.ROOT, "measuring: %d check-ins/s for %d s%n", offered, seconds);
        long t0 = System.nanoTime();
        long[] ack = openLoop(env, "m", offered, seconds);
        double sendSecs = secs(t0);
        Completion done = awaitDevices(List.of(instance), warm.length + ack.length, System.nanoTime(), Duration.ofSeconds(120));
        Thread.sleep(200); // the histogram is recorded right after Epic's answer
        Map<Double, Double> after = histogram(scrape(), "rlg_checkin_to_disassociation_seconds", env);
        Sampler.Result mem = sampler.stop();
        JsonObject stats = simStats().getJsonObject(instance);
        Map<Double, Double> delta = new TreeMap<>();
        after.forEach((le, n) -> delta.put(le, n - before.getOrDefault(le, 0.0)));

        System.out.println();
        System.out.printf(Locale.ROOT, "== e2e: %d single-event check-ins/s offered for %d s (achieved %.1f/s), environment "
                + "rate %.0f/s burst %d, simulator unlimited, no added latency%n", offered, seconds, ack.length / sendSecs, rate, burst);
        double count = delta.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
        System.out.printf(Locale.ROOT, "check-in -> Epic answer (gateway histogram, %d observations; linear within buckets, "
                + "[bucket bounds]):%n", (long) count);
        StringBuilder result = new StringBuilder("RESULT e2e");
        for (double q : new double[] {0.5, 0.9, 0.99, 0.999, 1.0}) {
            double[] v = quantile(delta, q);
            System.out.printf(Locale.ROOT, "  p%-5s %8.1f ms   [%.1f, %.1f]%n", trim(q * 100), v[0] * 1e3, v[1] * 1e3, v[2] * 1e3);
            result.append(String.format(Locale.ROOT, " p%s=%.1fms", trim(q * 100), v[0] * 1e3));
        }
        long[] sorted = ack.clone();
        Arrays.sort(sorted);
        int errors = (int) Arrays.stream(ack).filter(x -> x < 0).count();
        long[] ok = Arrays.stream(sorted).filter(x -> x >= 0).toArray();
        System.out.printf(Locale.ROOT, "driver ack latency (intended send -> 202, open loop), %d requests, %d errors:%n",
                ack.length, errors);
        for (double q : new double[] {50, 99, 99.9, 100}) {
            int idx = (int) Math.min(ok.length - 1, Math.max(0, Math.ceil(q / 100 * ok.length) - 1));
            System.out.printf(Locale.ROOT, "  p%-5s %8.1f ms%n", trim(q), ok.length == 0 ? Double.NaN : ok[idx] / 1e6);
        }
        System.out.printf(Locale.ROOT, "all %d devices at the simulator: %s%n", warm.length + ack.length,
                done.complete ? "yes" : "NO (" + done.seen + ")");
        printSim(stats, warm.length + ack.length);
        System.out.println(mem.describe());
        printOutcomes(env);
        printEpicDurations();
        System.out.println(result.append(" ackErrors=").append(errors));
    }

    /** Many environments drained at once against unlimited simulator instances: total Epic calls per second. */
    private void multi() throws Exception {
        int envs = intOpt("envs", 50);
        int devices = intOpt("devices", 1200);
        double rate = dblOpt("rate", 1000);
        int burst = intOpt("burst", 100);
        int concurrency = intOpt("concurrency", 32);
        List<String> ids = new ArrayList<>();
        List<String> instances = new ArrayList<>();
        long t = System.nanoTime();
        for (int i = 1; i <= envs; i++) {
            String id = String.format(Locale.ROOT, "m%02d", i);
            String instance = String.format(Locale.ROOT, "Multi-%02d", i);
            createEnvironment(id, instance, rate, burst, concurrency, intOpt("simLimit", 0));
            testConnection(id);
            post(mgmt + "/admin/environments/" + id + "/pause", admin, null, 200);
            ids.add(id);
            instances.add(instance);
        }
        System.out.printf(Locale.ROOT, "%d environments created, tested and paused in %.1f s%n", envs, secs(t));
        int warmup = intOpt("warmup", 400);
        long before = 0;
        if (warmup > 0) {
            // the same drain, smaller and left out: the gateway's and the simulator's dispatch code is JIT-compiled
            // here (in a cold run the C2 compiler threads are the busiest threads of both JVMs during the drain)
            ingestBacklog(ids, warmup, "w");
            long tw = System.nanoTime();
            resumeAll(ids);
            Completion w = awaitDevices(instances, (long) envs * warmup, tw, Duration.ofSeconds(600));
            System.out.printf(Locale.ROOT, "warm-up drain (left out): %d devices in %.2f s = %.0f calls/s%n",
                    envs * warmup, w.seconds, envs * warmup / w.seconds);
            for (String id : ids) {
                post(mgmt + "/admin/environments/" + id + "/pause", admin, null, 200);
            }
            before = envs * (long) warmup;
            Thread.sleep(2000);
        }
        t = System.nanoTime();
        ingestBacklog(ids, devices, "b");
        int total = envs * devices;
        System.out.printf(Locale.ROOT, "backlog of %d check-ins queued while PAUSED in %.1f s%n", total, secs(t));
        Thread.sleep(1000);
        Map<Double, Double> epicBefore = epicDurations();
        Sampler sampler = Sampler.start(gwPid, pgPidFile, simPid);
        long resumeMs = System.currentTimeMillis();
        long t0 = System.nanoTime();
        resumeAll(ids);
        double resumeAll = secs(t0);
        Completion done = awaitDevices(instances, before, total, t0, Duration.ofSeconds(600));
        Sampler.Result mem = sampler.stop();
        JsonObject all = simStats();
        List<JsonObject> stats = instances.stream().map(all::getJsonObject).toList();
        PerSecond ps = PerSecond.of(stats, resumeMs);
        long dups = stats.stream().mapToLong(s -> s.getLong("duplicateCalls")).sum();
        long calls = stats.stream().mapToLong(s -> s.getLong("disassociateCalls")).sum() - before;
        long seen = stats.stream().mapToLong(s -> s.getLong("devices")).sum() - before;
        long limited = stats.stream().mapToLong(s -> s.getLong("rateLimited")).sum();
        long tokens = stats.stream().mapToLong(s -> s.getLong("tokenRequests")).sum();
        long unauthorized = stats.stream().mapToLong(s -> s.getLong("unauthorized")).sum();
        long errors = stats.stream().mapToLong(s -> s.getLong("injectedErrors")).sum();
        double perSec = seen / done.seconds;

        System.out.println();
        System.out.printf(Locale.ROOT, "== multi: %d environments x %d devices = %d, each rate %.0f/s burst %d maxConcurrency %d, "
                + "simulator unlimited, after a warm-up drain of %d devices%n", envs, devices, total, rate, burst, concurrency, before);
        System.out.printf(Locale.ROOT, "drain time      %.2f s %s (from %s UTC; resuming all took %.2f s, completion seen within %.2f s)%n",
                done.seconds, done.complete ? "" : "INCOMPLETE: " + done.seen + " devices", java.time.Instant.ofEpochMilli(resumeMs)
                        .toString().substring(11, 23), resumeAll, done.precision);
        System.out.printf(Locale.ROOT, "total calls/s   %.0f over the drain (target >= 3000: %s); wall-clock seconds peak %d, "
                + "full seconds min/median/max %s%n", perSec, verdict(done.complete && perSec >= 3000), ps.max,
                ps.fullSecondsSummary());
        System.out.println("calls/second    " + ps.series());
        System.out.printf(Locale.ROOT, "simulator       %d devices, %d calls, %d duplicates, %d rate-limited, %d token requests, "
                + "%d unauthorized, %d errors%n", seen, calls, dups, limited, tokens, unauthorized, errors);
        System.out.println(mem.describe());
        printOutcomes(null);
        printEpicDurations(epicBefore);
        System.out.printf(Locale.ROOT, "RESULT multi seconds=%.2f callsPerSecond=%.0f peakSecond=%d duplicates=%d "
                + "rssMaxMiB=%.0f heapMaxMiB=%.0f%n", done.seconds, perSec, ps.max, dups, mem.rssMax / 1024.0, mem.heapMax / 1024.0);
    }

    // ---------------------------------------------------------------- setup

    /** Resumes all at once, as an operator's script would. */
    private void resumeAll(List<String> ids) {
        List<CompletableFuture<HttpResponse<String>>> resumes = new ArrayList<>();
        for (String id : ids) {
            resumes.add(http.sendAsync(HttpRequest.newBuilder(URI.create(mgmt + "/admin/environments/" + id + "/resume"))
                    .timeout(TIMEOUT).header("Authorization", "Bearer " + admin).POST(HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> r : resumes) {
            if (r.join().statusCode() != 200) {
                throw new IllegalStateException("resume answered " + r.join().statusCode() + ": " + r.join().body());
            }
        }
    }

    private void createEnvironment(String id, String instance, double rate, int burst, int concurrency, int simLimit)
            throws Exception {
        JsonObject body = new JsonObject().put("id", id).put("interconnectUrl", sim).put("instance", instance)
                .put("clientId", "bench-" + id).put("rateLimitPerSecond", rate).put("burst", burst)
                .put("maxConcurrency", concurrency).put("allowInsecure", true);
        JsonObject created = new JsonObject(post(mgmt + "/admin/environments", admin, body.encode(), 201));
        // the simulator instance trusts the gateway's JWKS URL of this environment
        send("PATCH", sim + "/_sim/instances/" + instance, null, new JsonObject().put("clientId", "bench-" + id)
                .put("jwksUrl", created.getString("jwksUrl")).put("rateLimitPerSecond", simLimit).encode(), 200);
        post(mgmt + "/admin/environments/" + id + "/activate", admin, null, 200);
    }

    private void testConnection(String id) throws Exception {
        JsonObject r = new JsonObject(post(mgmt + "/admin/environments/" + id + "/test-connection", admin, null, 200));
        if (!r.getBoolean("ok", false)) {
            throw new IllegalStateException("test-connection of " + id + " failed: " + r.encode());
        }
    }

    /** {@code perEnvironment} check-ins of new devices per environment, in requests of up to 1,000 events. */
    private void ingestBacklog(List<String> environments, int perEnvironment, String tag) throws Exception {
        List<String> events = new ArrayList<>();
        for (String env : environments) {
            for (int i = 0; i < perEnvironment; i++) {
                events.add(event(env, tag + "-" + run + "-" + env + "-" + i));
            }
        }
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int from = 0; from < events.size(); from += 1000) {
            String body = "{\"events\":[" + String.join(",", events.subList(from, Math.min(events.size(), from + 1000))) + "]}";
            JsonObject r = new JsonObject(post(pub + "/v1/checkins", ingest, body, 202));
            for (Object o : r.getJsonArray("results")) {
                outcomes.merge(((JsonObject) o).getString("outcome"), 1, Integer::sum);
            }
        }
        if (outcomes.getOrDefault("queued", 0) != events.size()) {
            throw new IllegalStateException("backlog check-ins were not all queued: " + outcomes);
        }
    }

    private static String event(String env, String id) {
        return "{\"eventId\":\"" + id + "\",\"environmentId\":\"" + env + "\",\"deviceId\":\"d-" + id
                + "\",\"occurredAt\":\"2026-11-29T07:00:00Z\"}";
    }

    /**
     * Sends {@code rate} single-event check-ins per second for {@code seconds} on a fixed schedule whatever the answers;
     * returns each request's latency from its intended send time to the 202 (nanoseconds; -1 = error).
     */
    private long[] openLoop(String env, String tag, int rate, int seconds) throws Exception {
        int total = rate * seconds;
        long[] latencies = new long[total];
        List<CompletableFuture<?>> pending = new ArrayList<>(total);
        AtomicInteger errors = new AtomicInteger();
        long start = System.nanoTime() + 50_000_000L;
        for (int i = 0; i < total; i++) {
            long intended = start + i * 1_000_000_000L / rate;
            long wait = intended - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            int n = i;
            HttpRequest request = HttpRequest.newBuilder(URI.create(pub + "/v1/checkins")).timeout(TIMEOUT)
                    .header("Authorization", "Bearer " + ingest).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(event(env, tag + "-" + run + "-" + n))).build();
            pending.add(http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).handle((r, e) -> {
                boolean ok = e == null && r.statusCode() == 202;
                latencies[n] = ok ? System.nanoTime() - intended : -1;
                if (!ok) {
                    errors.incrementAndGet();
                }
                return null;
            }));
        }
        CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();
        return latencies;
    }

    // ---------------------------------------------------------------- measuring

    private record Completion(boolean complete, long seen, double seconds, double precision) {
    }

    /**
     * Polls the simulator until the instances have seen {@code expected} devices; polls rarely while far from done
     * (the stats answer lists every device) and every 50 ms near the end. The time is that of the answer that showed
     * completion; {@code precision} is how long before it the previous (incomplete) poll was sent.
     */
    private Completion awaitDevices(List<String> instances, long expected, long t0, Duration timeout) throws Exception {
        return awaitDevices(instances, 0, expected, t0, timeout);
    }

    /** As above, for {@code expected} devices beyond the {@code base} ones seen before. */
    private Completion awaitDevices(List<String> instances, long base, long expected, long t0, Duration timeout) throws Exception {
        long lastPollStart = t0;
        long lastReport = t0;
        while (true) {
            long pollStart = System.nanoTime();
            JsonObject all = simStats();
            long now = System.nanoTime();
            long seen = instances.stream().mapToLong(i -> all.getJsonObject(i).getLong("devices")).sum() - base;
            if (seen >= expected) {
                return new Completion(true, seen, (now - t0) / 1e9, (now - lastPollStart) / 1e9);
            }
            if (now - t0 > timeout.toNanos()) {
                return new Completion(false, seen, (now - t0) / 1e9, 0);
            }
            if (now - lastReport > 10_000_000_000L) {
                System.out.printf(Locale.ROOT, "  %5.1f s: %d of %d devices at the simulator%n", (now - t0) / 1e9, seen, expected);
                lastReport = now;
            }
            double perSecond = Math.max(1, seen / Math.max(0.001, (now - t0) / 1e9));
            long sleep = (long) Math.max(50, Math.min(2000, (expected - seen) / perSecond * 1000 / 4));
            lastPollStart = pollStart;
            Thread.sleep(sleep);
        }
    }

    /** Calls per wall-clock second at the simulator (its callsPerSecond), summed over instances. */
    private static final class PerSecond {
        final TreeMap<Long, Long> counts = new TreeMap<>();
        long max;

        static PerSecond of(List<JsonObject> stats, long sinceMs) {
            PerSecond p = new PerSecond();
            for (JsonObject s : stats) {
                s.getJsonObject("callsPerSecond").forEach(e -> {
                    long sec = Long.parseLong(e.getKey());
                    if (sec >= sinceMs / 1000) {
                        p.counts.merge(sec, ((Number) e.getValue()).longValue(), Long::sum);
                    }
                });
            }
            p.max = p.counts.values().stream().mapToLong(Long::longValue).max().orElse(0);
            return p;
        }

        /** Seconds other than the first and the last (partial ones). */
        long[] full() {
            if (counts.size() <= 2) {
                return new long[0];
            }
            List<Long> v = new ArrayList<>(counts.values()).subList(1, counts.size() - 1);
            return v.stream().mapToLong(Long::longValue).sorted().toArray();
        }

        /** The calls of every wall-clock second from the first to the last one with calls. */
        String series() {
            if (counts.isEmpty()) {
                return "-";
            }
            StringBuilder sb = new StringBuilder();
            for (long sec = counts.firstKey(); sec <= counts.lastKey(); sec++) {
                sb.append(sb.length() == 0 ? "" : " ").append(counts.getOrDefault(sec, 0L));
            }
            return sb.toString();
        }

        String fullSecondsSummary() {
            long[] f = full();
            return f.length == 0 ? "-" : f[0] + "/" + f[f.length / 2] + "/" + f[f.length - 1] + " (" + f.length + " s)";
        }

        double steadyRate() {
            long[] f = full();
            return f.length == 0 ? Double.NaN : Arrays.stream(f).sum() / (double) f.length;
        }
    }

    private static void printSim(JsonObject s, long expected) {
        System.out.printf(Locale.ROOT, "simulator       %d of %d devices, %d calls, %d duplicates, %d rate-limited (429), "
                        + "%d token requests (%d issued), %d unauthorized, %d errors%n", s.getLong("devices"), expected,
                s.getLong("disassociateCalls"), s.getLong("duplicateCalls"), s.getLong("rateLimited"),
                s.getLong("tokenRequests"), s.getLong("tokensIssued"), s.getLong("unauthorized"), s.getLong("injectedErrors"));
    }

    private void printOutcomes(String env) throws Exception {
        Map<String, Double> outcomes = new TreeMap<>();
        Pattern p = Pattern.compile("^rlg_disassociations_total\\{([^}]*)\\} (\\S+)$");
        for (String line : scrape().split("\n")) {
            Matcher m = p.matcher(line);
            if (m.matches() && (env == null || m.group(1).contains("environment=\"" + env + "\""))) {
                Matcher o = Pattern.compile("outcome=\"([^\"]*)\"").matcher(m.group(1));
                if (o.find()) {
                    outcomes.merge(o.group(1), Double.parseDouble(m.group(2)), Double::sum);
                }
            }
        }
        StringBuilder sb = new StringBuilder("gateway         rlg_disassociations_total");
        outcomes.forEach((k, v) -> sb.append(' ').append(k).append('=').append(v.longValue()));
        System.out.println(sb);
    }

    private String scrape() throws Exception {
        return send("GET", mgmt + "/metrics", null, null, 200);
    }

    /** Cumulative bucket counts (le -> count) of a histogram for one environment. */
    static Map<Double, Double> histogram(String metrics, String name, String env) {
        return histogram(metrics, name, List.of("environment=\"" + env + "\""));
    }

    /** Cumulative bucket counts (le -> count) of a histogram, summed over the series whose labels hold all of {@code labels}. */
    static Map<Double, Double> histogram(String metrics, String name, List<String> labels) {
        Map<Double, Double> buckets = new TreeMap<>();
        Pattern le = Pattern.compile("le=\"([^\"]*)\"");
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "_bucket{") && labels.stream().allMatch(line::contains)) {
                Matcher m = le.matcher(line);
                if (m.find()) {
                    double bound = "+Inf".equals(m.group(1)) ? Double.POSITIVE_INFINITY : Double.parseDouble(m.group(1));
                    buckets.merge(bound, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)), Double::sum);
                }
            }
        }
        return buckets;
    }

    /** p50/p99/max of the gateway's Epic disassociate call durations (all environments, all statuses). */
    private void printEpicDurations() throws Exception {
        printEpicDurations(Map.of());
    }

    private Map<Double, Double> epicDurations() throws Exception {
        return histogram(scrape(), "rlg_epic_request_duration_seconds", List.of("endpoint=\"disassociate\""));
    }

    /** As above, for the calls made since {@code before} was taken. */
    private void printEpicDurations(Map<Double, Double> before) throws Exception {
        Map<Double, Double> h = new TreeMap<>();
        epicDurations().forEach((le, n) -> h.put(le, n - before.getOrDefault(le, 0.0)));
        System.out.printf(Locale.ROOT, "Epic call time  (gateway's rlg_epic_request_duration_seconds, disassociate) p50 %.1f ms, "
                + "p99 %.1f ms, max %.1f ms%n", quantile(h, 0.5)[0] * 1e3, quantile(h, 0.99)[0] * 1e3, quantile(h, 1.0)[0] * 1e3);
    }

    /** {value interpolated linearly within its bucket, bucket lower bound, bucket upper bound}, in seconds. */
    static double[] quantile(Map<Double, Double> cumulative, double q) {
        double total = cumulative.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
        if (total == 0) {
            return new double[] {Double.NaN, Double.NaN, Double.NaN};
        }
        double rank = q >= 1 ? total : q * total;
        double prevBound = 0;
        double prevCount = 0;
        double lastFinite = 0;
        for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
            if (e.getValue() >= rank && e.getValue() > prevCount) {
                if (e.getKey().isInfinite()) {
                    return new double[] {lastFinite, lastFinite, Double.POSITIVE_INFINITY};
                }
                double v = prevBound + (e.getKey() - prevBound) * (rank - prevCount) / (e.getValue() - prevCount);
                return new double[] {v, prevBound, e.getKey()};
            }
            if (!e.getKey().isInfinite()) {
                lastFinite = e.getKey();
            }
            prevBound = e.getKey();
            prevCount = e.getValue();
        }
        return new double[] {Double.NaN, Double.NaN, Double.NaN};
    }

    /** Gateway JVM RSS (and its child processes', i.e. the embedded PostgreSQL) every second, heap from jstat. */
    private static final class Sampler {
        private final long pid;
        private final Path pgPidFile;
        private final long simPid;
        private final Process jstat;
        private final Thread rssThread;
        private final Thread jstatThread;
        private volatile boolean running = true;
        final Result result = new Result();

        static final class Result {
            long samples;
            long rssFirst = -1;
            long rssMax;
            long childrenRssMax;
            long heapMax;
            long heapCommittedMax;
            long gcFirst = -1;
            double gcTimeFirst;
            long gcLast;
            double gcTimeLast;
            double cpuGateway;
            double cpuSim;
            double cpuPostgres;
            double cpuMachine;

            String describe() {
                return String.format(Locale.ROOT, "gateway JVM     RSS max %.0f MiB (%.0f at start, %d samples); heap used max "
                                + "%.0f MiB, committed max %.0f MiB; %d GCs, %.2f s GC time during the run%n"
                                + "postgres        RSS max %.0f MiB (postmaster and backends summed; shared buffers "
                                + "counted once per process)%n"
                                + "CPU (cores)     gateway %.2f, simulator %.2f, postgres %.2f; whole machine busy %.2f of %d "
                                + "(the rest: this driver and anything else running)", rssMax / 1024.0, rssFirst / 1024.0, samples, heapMax / 1024.0,
                        heapCommittedMax / 1024.0, gcLast - Math.max(0, gcFirst), gcTimeLast - gcTimeFirst,
                        childrenRssMax / 1024.0, cpuGateway, cpuSim, cpuPostgres, cpuMachine,
                        Runtime.getRuntime().availableProcessors());
            }
        }

        private Sampler(long pid, Path pgPidFile, long simPid) throws IOException {
            this.pid = pid;
            this.simPid = simPid;
            this.pgPidFile = pgPidFile;
            jstat = new ProcessBuilder("jstat", "-gc", Long.toString(pid), "1000").redirectErrorStream(true).start();
            jstatThread = new Thread(this::readJstat, "jstat");
            rssThread = new Thread(this::sampleRss, "rss");
            jstatThread.setDaemon(true);
            rssThread.setDaemon(true);
            jstatThread.start();
            rssThread.start();
        }

        static Sampler start(long pid, Path pgPidFile, long simPid) throws IOException {
            return new Sampler(pid, pgPidFile, simPid);
        }

        Result stop() throws InterruptedException {
            running = false;
            rssThread.join(3000);
            jstat.destroy();
            jstatThread.join(3000);
            synchronized (result) {
                return result;
            }
        }

        private void sampleRss() {
            long t0 = System.nanoTime();
            long gw0 = cpuTicks(pid);
            long sim0 = simPid > 0 ? cpuTicks(simPid) : 0;
            long pg0 = postgresCpuTicks();
            machineBusy(0);
            while (running) {
                synchronized (result) {
                    double wall = (System.nanoTime() - t0) / 1e9;
                    if (wall > 0.5) {
                        result.cpuGateway = (cpuTicks(pid) - gw0) / 100.0 / wall;
                        result.cpuSim = simPid > 0 ? (cpuTicks(simPid) - sim0) / 100.0 / wall : Double.NaN;
                        result.cpuPostgres = (postgresCpuTicks() - pg0) / 100.0 / wall;
                        result.cpuMachine = machineBusy(wall);
                    }
                }
                long rss = rssKb(pid);
                long children = ProcessHandle.of(pid).map(h -> h.descendants().mapToLong(c -> rssKb(c.pid())).sum()).orElse(0L)
                        + postgresRssKb();
                synchronized (result) {
                    result.samples++;
                    if (result.rssFirst < 0) {
                        result.rssFirst = rss;
                    }
                    result.rssMax = Math.max(result.rssMax, rss);
                    result.childrenRssMax = Math.max(result.childrenRssMax, children);
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        /** The embedded PostgreSQL runs detached (pg_ctl): its postmaster and backends, found by postmaster.pid. */
        private long postgresRssKb() {
            if (pgPidFile == null) {
                return 0;
            }
            try {
                long postmaster = Long.parseLong(Files.readAllLines(pgPidFile).get(0).trim());
                return rssKb(postmaster) + ProcessHandle.of(postmaster)
                        .map(h -> h.descendants().mapToLong(c -> rssKb(c.pid())).sum()).orElse(0L);
            } catch (IOException | RuntimeException e) {
                return 0;
            }
        }

        /** utime + stime of a process in clock ticks (USER_HZ = 100 on Linux). */
        private static long cpuTicks(long pid) {
            try {
                String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                return Long.parseLong(f[11]) + Long.parseLong(f[12]);
            } catch (IOException | RuntimeException e) {
                return 0;
            }
        }

        private long postgresCpuTicks() {
            if (pgPidFile == null) {
                return 0;
            }
            try {
                long postmaster = Long.parseLong(Files.readAllLines(pgPidFile).get(0).trim());
                return cpuTicks(postmaster) + ProcessHandle.of(postmaster)
                        .map(h -> h.descendants().mapToLong(c -> cpuTicks(c.pid())).sum()).orElse(0L);
            } catch (IOException | RuntimeException e) {
                return 0;
            }
        }

        private long[] machine0;

        /** Busy cores of the whole machine since the first call, from /proc/stat. */
        private double machineBusy(double wall) {
            try {
                String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
                long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
                long total = 0;
                for (int i = 1; i < f.length; i++) {
                    total += Long.parseLong(f[i]);
                }
                if (machine0 == null) {
                    machine0 = new long[] {idle, total};
                    return Double.NaN;
                }
                double busy = (total - machine0[1]) - (idle - machine0[0]);
                return busy / Math.max(1, total - machine0[1]) * Runtime.getRuntime().availableProcessors();
            } catch (IOException | RuntimeException e) {
                return Double.NaN;
            }
        }

        private static long rssKb(long pid) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // process gone
            }
            return 0;
        }

        private void readJstat() {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(jstat.getInputStream(), StandardCharsets.UTF_8))) {
                String[] header = null;
                for (String line; (line = in.readLine()) != null; ) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 0 && f[0].equals("S0C")) {
                        header = f;
                        continue;
                    }
                    if (header == null || f.length != header.length) {
                        continue;
                    }
                    Map<String, Double> v = new LinkedHashMap<>();
                    for (int i = 0; i < f.length; i++) {
                        try {
                            v.put(header[i], Double.parseDouble(f[i]));
                        } catch (NumberFormatException e) {
                            v.put(header[i], 0.0);
                        }
                    }
                    long used = (long) (v.get("S0U") + v.get("S1U") + v.get("EU") + v.get("OU"));
                    long committed = (long) (v.get("S0C") + v.get("S1C") + v.get("EC") + v.get("OC"));
                    long gcs = (long) (v.get("YGC") + v.get("FGC") + v.getOrDefault("CGC", 0.0));
                    synchronized (result) {
                        result.heapMax = Math.max(result.heapMax, used);
                        result.heapCommittedMax = Math.max(result.heapCommittedMax, committed);
                        if (result.gcFirst < 0) {
                            result.gcFirst = gcs;
                            result.gcTimeFirst = v.get("GCT");
                        }
                        result.gcLast = gcs;
                        result.gcTimeLast = v.get("GCT");
                    }
                }
            } catch (IOException e) {
                // jstat stopped
            }
        }
    }

    // ---------------------------------------------------------------- HTTP

    private JsonObject simStats() throws Exception {
        return new JsonObject(send("GET", sim + "/_sim/stats", null, null, 200)).getJsonObject("instances");
    }

    private String post(String url, String token, String json, int expect) throws Exception {
        return send("POST", url, token, json, expect);
    }

    private String send(String method, String url, String token, String json, int expect) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT)
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != expect) {
            throw new IllegalStateException(method + " " + url + " answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    // ---------------------------------------------------------------- small things

    private String req(String key) {
        String v = opts.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing " + key + "=...");
        }
        return v;
    }

    private int intOpt(String key, int def) {
        return opts.containsKey(key) ? Integer.parseInt(opts.get(key)) : def;
    }

    private double dblOpt(String key, double def) {
        return opts.containsKey(key) ? Double.parseDouble(opts.get(key)) : def;
    }

    private static double secs(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static String verdict(boolean met) {
        return met ? "met" : "MISSED";
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
