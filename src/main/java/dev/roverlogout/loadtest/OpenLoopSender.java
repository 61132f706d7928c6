package dev.roverlogout.loadtest;

import java.util.concurrent.CompletableFuture;

import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

/**
 * Sends the schedule open-loop: each request leaves at its due time whatever the answers; latency is measured from
 * the due time, so a stall shows as latency (no coordinated omission); arrivals beyond {@code maxInFlight}
 * outstanding requests are dropped and counted. What comes back goes into the {@link SendBooks}; once a second the
 * {@link ProgressSampler} adds the gateway's side. Runs on the driver's context only.
 */
final class OpenLoopSender {
    private final Vertx vertx;
    private final WebClient http;
    private final Scenario s;
    private final Driver.Endpoints ep;
    private final Schedule schedule;
    private final String[] envIds;
    private final String runTag;
    private final SendBooks books;
    private final ProgressSampler sampler;

    private long startNanos;
    private long startEpochMillis;
    private int next;
    private int inFlight;

    OpenLoopSender(Vertx vertx, WebClient http, Scenario scenario, Driver.Endpoints endpoints, Schedule schedule,
                   String[] envIds, String runTag, SendBooks books, ProgressSampler sampler) {
        this.vertx = vertx;
        this.http = http;
        this.s = scenario;
        this.ep = endpoints;
        this.schedule = schedule;
        this.envIds = envIds;
        this.runTag = runTag;
        this.books = books;
        this.sampler = sampler;
    }

    /** Starts sending; {@code done} completes when every request was sent and answered. Call on the driver's context. */
    void start(CompletableFuture<Void> done) {
        startNanos = System.nanoTime();
        startEpochMillis = System.currentTimeMillis();
        books.started(startEpochMillis);
        vertx.setPeriodic(1, id -> {
            long elapsedMillis = (System.nanoTime() - startNanos) / 1_000_000;
            while (next < schedule.requests.size() && schedule.requests.get(next).atMillis() <= elapsedMillis) {
                send(next++);
            }
            if (next == schedule.requests.size() && inFlight == 0) {
                vertx.cancelTimer(id);
                books.ended(System.currentTimeMillis());
                done.complete(null);
            }
        });
        vertx.setPeriodic(1000, id -> {
            sampler.sample(books, elapsedMillis());
            if (done.isDone()) {
                vertx.cancelTimer(id);
            }
        });
    }

    private void send(int index) {
        Schedule.Request r = schedule.requests.get(index);
        boolean admitted = inFlight < s.maxInFlight();
        books.offered(r, admitted);
        if (admitted) {
            post(r, Schedule.body(r, startEpochMillis, envIds, runTag, index), false);
        }
    }

    private void post(Schedule.Request r, JsonObject body, boolean isResend) {
        inFlight++;
        books.sent(elapsedMillis());
        long dueNanos = startNanos + r.atMillis() * 1_000_000;
        http.postAbs(ep.publicUrl() + "/v1/checkins").bearerTokenAuthentication(ep.ingestToken()).timeout(30_000)
                .sendJsonObject(body).onComplete(ar -> answered(r, body, isResend, dueNanos, ar));
    }

    private void answered(Schedule.Request r, JsonObject body, boolean isResend, long dueNanos,
                          AsyncResult<HttpResponse<Buffer>> ar) {
        inFlight--;
        if (!isResend) {
            books.acknowledged(r, Math.max(0, (System.nanoTime() - dueNanos) / 1000));
        }
        if (books.answered(r, isResend, elapsedMillis(), ar)) {
            post(r, body, true); // the same body again: the gateway must answer every event as a duplicate
        }
    }

    private long elapsedMillis() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
