package dev.roverlogout.ingest;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.TestPostgres.count;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.Checkpoint;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;

/** Concurrent requests: idempotency across connections, and many requests sharing one transaction. */
@ExtendWith(VertxExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GroupCommitTest {
    private static final Pattern COMMITS = Pattern.compile("(?m)^rlg_ingest_commits_total (\\S+)");
    private TestGateway gw;
    private Http http;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_INGEST_GROUPCOMMIT_WINDOW", "2ms"));
        http = new Http();
        Fixtures.environment(http, gw, "burst", "READY");
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
    }

    private static WebClient clients(Vertx vertx, int connections) {
        return WebClient.create(vertx, new WebClientOptions().setKeepAlive(true),
                new PoolOptions().setHttp1MaxSize(connections));
    }

    @Test
    @DisplayName("the same eventId sent concurrently over 50 connections is accepted exactly once")
    void concurrentDuplicates(Vertx vertx, VertxTestContext ctx) throws Exception {
        WebClient client = clients(vertx, 50);
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger duplicates = new AtomicInteger();
        Checkpoint answered = ctx.checkpoint(50);
        for (int i = 0; i < 50; i++) {
            client.post(gw.publicPort(), "127.0.0.1", "/v1/checkins").bearerTokenAuthentication(TestGateway.INGEST)
                    .sendJsonObject(checkIn("same-event", "burst", "dev-same", "2026-11-29T07:00:00Z"))
                    .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
                        assertThat(r.statusCode()).isEqualTo(202);
                        accepted.addAndGet(r.bodyAsJsonObject().getInteger("accepted"));
                        duplicates.addAndGet(r.bodyAsJsonObject().getInteger("duplicates"));
                        answered.flag();
                    })));
        }
        assertThat(ctx.awaitCompletion(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        if (ctx.failed()) {
            throw new AssertionError(ctx.causeOfFailure());
        }
        assertThat(accepted.get()).isEqualTo(1);
        assertThat(duplicates.get()).isEqualTo(49);
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM device_event WHERE event_id = 'same-event'")).isEqualTo(1);
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE device_id = 'dev-same'")).isEqualTo(1);
    }

    @Test
    @DisplayName("concurrent single-event requests are written in fewer transactions than requests, each answered after commit")
    void groupsConcurrentRequests(Vertx vertx, VertxTestContext ctx) throws Exception {
        double commitsBefore = commits();
        int requests = 400;
        WebClient client = clients(vertx, 64);
        Checkpoint answered = ctx.checkpoint(requests);
        for (int i = 0; i < requests; i++) {
            client.post(gw.publicPort(), "127.0.0.1", "/v1/checkins").bearerTokenAuthentication(TestGateway.INGEST)
                    .sendJsonObject(checkIn("grp-" + i, "burst", "dev-grp-" + i, "2026-11-29T07:00:00Z"))
                    .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
                        assertThat(r.statusCode()).isEqualTo(202);
                        answered.flag();
                    })));
        }
        assertThat(ctx.awaitCompletion(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        if (ctx.failed()) {
            throw new AssertionError(ctx.causeOfFailure());
        }
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM device_event WHERE event_id LIKE 'grp-%'")).isEqualTo(requests);
        assertThat(commits() - commitsBefore).isLessThan(requests / 2.0);
    }

    private double commits() {
        Matcher m = COMMITS.matcher(http.get(gw.managementPort(), "/metrics", null).bodyAsString());
        assertThat(m.find()).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
