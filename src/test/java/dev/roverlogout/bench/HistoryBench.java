package dev.roverlogout.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import dev.roverlogout.store.QueueDepthStore;

/**
 * The data-growth benchmarks (not a test; run by {@code bench/run-history.sh}, see BENCHMARKS.md), against a running
 * gateway and its embedded PostgreSQL:
 * <ul>
 * <li>{@code fill rows=N}: N historical rows, as years of shift changes leave them: check-in events each with its done
 * job and one attempt, and check-out events (events + jobs = N; attempts on top), 40–70 days old (all past the
 * default retention), over 40,000 devices of environment {@code hist}.</li>
 * <li>{@code lookups samples=N}: {@code GET /admin/devices/{id}/history} of random devices of that history.</li>
 * <li>{@code queue queued=N}: fills a PAUSED environment's queue to N jobs, then times queue statistics' statements
 * (fold + read) and, once, the GROUP BY they replaced.</li>
 * </ul>
 * Arguments key=value: mgmt, admin, pg (PostgreSQL port).
 */
public final class HistoryBench {
    private static final int DEVICES = 40_000;

    private final Map<String, String> opts;

    private HistoryBench(Map<String, String> opts) {
        this.opts = opts;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            opts.put(args[i].substring(0, args[i].indexOf('=')), args[i].substring(args[i].indexOf('=') + 1));
        }
        HistoryBench b = new HistoryBench(opts);
        switch (args[0]) {
            case "fill" -> b.fill(Long.parseLong(opts.getOrDefault("rows", "10000000")));
            case "lookups" -> b.lookups(Integer.parseInt(opts.getOrDefault("samples", "2000")));
            case "queue" -> b.queue(Long.parseLong(opts.getOrDefault("queued", "1000000")));
            default -> throw new IllegalArgumentException("fill | lookups | queue");
        }
    }

    private Connection db() throws Exception {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + opts.get("pg") + "/postgres", "postgres", "");
    }

    private void fill(long rows) throws Exception {
        long checkIns = rows * 2 / 5; // each with its job: 2 rows; plus a check-out every second check-in: 1 row
        long checkOuts = rows - 2 * checkIns;
        long t0 = System.nanoTime();
        try (Connection c = db(); Statement s = c.createStatement()) {
            for (long lo = 1; lo <= checkIns; lo += 1_000_000) {
                long hi = Math.min(checkIns, lo + 999_999);
                s.execute("""
                        WITH j AS (
                          INSERT INTO disassociation_job (environment_id, device_id, state, checked_in_at, received_at, attempts,
                                                          next_attempt_at, finished_at, last_status, request_id)
                          SELECT 'hist', 'hd-' || (g %% %d), 'done', ts, ts, 1, ts, ts + interval '2 seconds', 200, 'hr-' || g
                            FROM (SELECT g, now() - interval '70 days' + (g::float8 / %d) * interval '30 days' AS ts
                                    FROM generate_series(%d, %d) g) s
                          RETURNING id, device_id, received_at, request_id
                        ), a AS (
                          INSERT INTO job_attempt (job_id, attempt, replica, started_at, finished_at, http_status, outcome, request_id)
                          SELECT id, 1, 'bench', received_at + interval '1 second', received_at + interval '2 seconds', 200, 'done',
                                 request_id FROM j
                        )
                        INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, received_at, outcome,
                                                  job_id, request_id, locker_id)
                        SELECT 'hist', 'hi-' || id, 'CHECK_IN', device_id, received_at - interval '3 seconds', received_at,
                               'queued', id, request_id, 'locker-1' FROM j
                        """.formatted(DEVICES, checkIns, lo, hi));
                System.out.printf(Locale.ROOT, "  %,d check-ins with their jobs and attempts (%.0f s)%n", hi, secs(t0));
            }
            for (long lo = 1; lo <= checkOuts; lo += 1_000_000) {
                long hi = Math.min(checkOuts, lo + 999_999);
                s.execute("""
                        INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, received_at, outcome, locker_id)
                        SELECT 'hist', 'ho-' || g, 'CHECK_OUT', 'hd-' || (g %% %d), ts, ts, 'recorded', 'locker-1'
                          FROM (SELECT g, now() - interval '70 days' + (g::float8 / %d) * interval '30 days' + interval '1 hour' AS ts
                                  FROM generate_series(%d, %d) g) s
                        """.formatted(DEVICES, checkOuts, lo, hi));
                System.out.printf(Locale.ROOT, "  %,d check-outs (%.0f s)%n", hi, secs(t0));
            }
            s.execute("VACUUM ANALYZE"); // what autovacuum does to a real database of that age
            System.out.printf(Locale.ROOT, "RESULT fill rows=%d checkIns=%d jobs=%d checkOuts=%d attempts=%d seconds=%.0f size=%s%n",
                    rows, checkIns, checkIns, checkOuts, checkIns, secs(t0), text(s, "SELECT pg_size_pretty(pg_database_size('postgres'))"));
        }
    }

    private void lookups(int samples) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        Random r = new Random(42);
        long[] nanos = new long[samples];
        for (int i = -200; i < samples; i++) { // 200 warm-up lookups
            String path = "/admin/devices/hd-" + r.nextInt(DEVICES) + "/history?environmentId=hist";
            long t = System.nanoTime();
            HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + opts.get("mgmt") + path))
                    .header("Authorization", "Bearer " + opts.get("admin")).build(), HttpResponse.BodyHandlers.ofString());
            if (res.statusCode() != 200) {
                throw new IllegalStateException(path + " answered " + res.statusCode());
            }
            if (i >= 0) {
                nanos[i] = System.nanoTime() - t;
            }
        }
        Arrays.sort(nanos);
        System.out.printf(Locale.ROOT, "RESULT lookups samples=%d p50=%.2fms p99=%.2fms max=%.2fms (100 newest events, "
                + "their jobs and attempts per device; HTTP included)%n", samples, ms(nanos, 0.5), ms(nanos, 0.99), ms(nanos, 1.0));
    }

    private void queue(long queued) throws Exception {
        try (Connection c = db(); Statement s = c.createStatement()) {
            long have = Long.parseLong(text(s, "SELECT count(*) FROM disassociation_job WHERE environment_id = 'qs' AND state = 'queued'"));
            long t0 = System.nanoTime();
            for (long lo = have + 1; lo <= queued; lo += 1_000_000) {
                long hi = Math.min(queued, lo + 999_999);
                s.execute("""
                        INSERT INTO disassociation_job (environment_id, device_id, checked_in_at, received_at, next_attempt_at)
                        SELECT 'qs', 'qd-' || g, now() - interval '1 hour', now() - interval '1 hour' + g * interval '1 ms',
                               now() - interval '1 hour' FROM generate_series(%d, %d) g
                        """.formatted(lo, hi));
            }
            s.execute("VACUUM ANALYZE disassociation_job");
            System.out.printf(Locale.ROOT, "  queue of 'qs' at %,d jobs (%.0f s to fill)%n", queued, secs(t0));
            s.execute("SET enable_seqscan = off"); // as the gateway's pool connections run
            long[] nanos = new long[200];
            for (int i = -20; i < nanos.length; i++) {
                long t = System.nanoTime();
                s.execute(QueueDepthStore.FOLD);
                try (ResultSet rs = s.executeQuery(QueueDepthStore.READ)) {
                    while (rs.next()) {
                        rs.getLong(3);
                    }
                }
                if (i >= 0) {
                    nanos[i] = System.nanoTime() - t;
                }
            }
            Arrays.sort(nanos);
            s.execute("RESET enable_seqscan");
            long t = System.nanoTime();
            s.executeQuery("""
                    SELECT e.id, count(j.id), min(j.received_at) FROM environment e
                      LEFT JOIN disassociation_job j ON j.environment_id = e.id AND j.state = 'queued' GROUP BY e.id
                    """).close();
            double old = secs(t) * 1000;
            System.out.printf(Locale.ROOT, "RESULT queue queued=%d stats p50=%.2fms p99=%.2fms max=%.2fms; the GROUP BY it "
                    + "replaced: %.0f ms%n", queued, ms(nanos, 0.5), ms(nanos, 0.99), ms(nanos, 1.0), old);
        }
    }

    private static double ms(long[] sorted, double q) {
        int i = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
        return sorted[i] / 1e6;
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static String text(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
