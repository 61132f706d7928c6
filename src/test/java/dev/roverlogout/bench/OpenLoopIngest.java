package dev.roverlogout.bench;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

/**
 * Open-loop ingest benchmark (not a test): single-event check-ins at a fixed rate, each request's latency
 * measured from its <em>intended</em> send time, so a stalled gateway shows as latency instead of as a lower
 * offered rate (no coordinated omission). Usage, see BENCHMARKS.md:
 * {@code java -cp ... dev.roverlogout.bench.OpenLoopIngest PORT TOKEN ENV RATE SECONDS [WARMUP_SECONDS]}; the first
 * WARMUP_SECONDS (default 10) are sent at the same rate but left out of the numbers (this JVM and the gateway's JIT).
 */
public final class OpenLoopIngest {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String token = args[1];
        String env = args[2];
        int rate = Integer.parseInt(args[3]);
        int warmup = args.length > 5 ? Integer.parseInt(args[5]) : 10;
        int seconds = Integer.parseInt(args[4]) + warmup;
        int total = rate * seconds;
        int skip = rate * warmup;
        Vertx vertx = Vertx.vertx();
        WebClient client = WebClient.create(vertx, new WebClientOptions().setKeepAlive(true).setTcpNoDelay(true)
                .setPipelining(false), new PoolOptions().setHttp1MaxSize(256).setEventLoopSize(2));
        long[] latencies = new long[total];
        AtomicInteger done = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        java.util.Map<String, Integer> reasons = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicLong sent = new AtomicLong();
        CountDownLatch finished = new CountDownLatch(1);
        String run = Long.toString(System.currentTimeMillis(), 36);
        long start = System.nanoTime() + 200_000_000L;
        vertx.setPeriodic(1, id -> {
            long now = System.nanoTime();
            long due = Math.min(total, (now - start) * rate / 1_000_000_000L + 1);
            for (long i = sent.get(); i < due && now >= start; i = sent.incrementAndGet()) {
                int n = (int) i;
                long intended = start + n * 1_000_000_000L / rate;
                String eventId = run + "-" + n;
                Buffer body = Buffer.buffer("{\"eventId\":\"" + eventId + "\",\"environmentId\":\"" + env
                        + "\",\"deviceId\":\"d-" + eventId + "\",\"occurredAt\":\"2026-11-29T07:00:00Z\"}");
                client.post(port, "127.0.0.1", "/v1/checkins").bearerTokenAuthentication(token)
                        .putHeader("Content-Type", "application/json").sendBuffer(body).onComplete(ar -> {
                            latencies[n] = System.nanoTime() - intended;
                            if (ar.failed() || ar.result().statusCode() != 202) {
                                errors.incrementAndGet();
                                reasons.merge(ar.failed() ? String.valueOf(ar.cause().getMessage())
                                        : ar.result().statusCode() + " " + ar.result().bodyAsString(), 1, Integer::sum);
                            }
                            if (done.incrementAndGet() == total) {
                                finished.countDown();
                            }
                        });
            }
            if (sent.get() >= total) {
                vertx.cancelTimer(id);
            }
        });
        finished.await();
        double elapsed = (System.nanoTime() - start) / 1e9;
        long[] measured = Arrays.copyOfRange(latencies, skip, total);
        Arrays.sort(measured);
        System.out.printf("offered %d req/s for %ds (+%ds warm-up): %d requests, %d errors, achieved %.0f req/s%n",
                rate, seconds - warmup, warmup, measured.length, errors.get(), total / elapsed);
        for (double p : new double[] {50, 90, 99, 99.9, 100}) {
            int idx = (int) Math.min(measured.length - 1, Math.ceil(p / 100 * measured.length) - 1);
            System.out.printf("  p%-5s %8.2f ms%n", p, measured[Math.max(0, idx)] / 1e6);
        }
        reasons.forEach((why, n) -> System.out.printf("  error x%d: %s%n", n, why.length() > 200 ? why.substring(0, 200) : why));
        vertx.close();
    }
}
