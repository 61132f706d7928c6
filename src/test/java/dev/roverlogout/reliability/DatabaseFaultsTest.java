package dev.roverlogout.reliability;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.store.EmbeddedDatabase;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.ext.web.client.HttpResponse;

/**
 * The database goes away under a running, dispatching gateway (issue 7, scenarios 3 and 8): a PostgreSQL server of
 * this test's own (so that it can be stopped, restarted and made read-only), real HTTP, counted at the simulator.
 * The long version of the restart: {@code mvn -B test -Dtest=DatabaseFaultsTest#restartMidBurst -Drlg.pg.downSeconds=60}.
 */
class DatabaseFaultsTest {
    private static final int RATE = 200;
    private static final int BURST = 20;
    private static final int MAX_CONCURRENCY = 8;

    private Path dir;
    private EmbeddedDatabase postgres;
    private int port;
    private TestGateway gw;
    private FaultRig rig;

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("rlg-faults-pg").resolve("pg");
        postgres = EmbeddedDatabase.start(dir, 0);
        port = postgres.port();
        gw = TestGateway.start(postgres.url(), Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms", "RLG_INGEST_COMMITTIMEOUT", "2s", "RLG_INGEST_RETRYAFTER", "1s",
                "RLG_DATABASE_CONNECTTIMEOUT", "1s"));
        rig = new FaultRig(new JsonArray().add(FaultRig.instance("DB", gw.publicPort(), "db")));
        rig.readyEnvironment(gw.managementPort(), "db", "DB", RATE, BURST, MAX_CONCURRENCY);
    }

    @AfterEach
    void stop() {
        // in reverse order, each only if it started: a failed start must not leak this test's PostgreSQL
        try {
            if (rig != null) {
                rig.close();
            }
            if (gw != null) {
                gw.close();
            }
        } finally {
            if (postgres != null) {
                postgres.close();
            }
            dev.roverlogout.testing.GatewayProcess.deleteTree(dir.getParent());
        }
    }

    @Test
    @DisplayName("PostgreSQL stopped and restarted mid-burst: ingest answers 503 + Retry-After while it is away, "
            + "recovers without a gateway restart, lanes resume, nothing acknowledged is lost")
    void restartMidBurst() throws Exception {
        FaultRig.Burst burst = rig.new Burst(gw::publicPort, "db", "r", 3000, 20, 20);
        burst.start();
        Await.until(() -> rig.stats("DB").getLong("devices") >= 500, 60);
        long stoppedAt = System.nanoTime();
        postgres.close();

        HttpResponse<Buffer> away = rig.http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                checkIn("away-1", "db", "dev-away", "2026-11-29T07:00:00Z"));
        assertThat(away.statusCode()).as(away.bodyAsString()).isEqualTo(503);
        assertThat(away.getHeader("Retry-After")).isNotBlank();
        assertThat(away.getHeader("Content-Type")).startsWith("application/problem+json");
        Await.until(() -> rig.http.get(gw.managementPort(), "/health/ready", null).statusCode() == 503, 30);
        // away for a while: the pool's connections are all dead, writers fail; the long version keeps it away for
        // longer than the leases (-Drlg.pg.downSeconds=60), so lanes lose them and jobs under way are rescued
        Thread.sleep(Integer.getInteger("rlg.pg.downSeconds", 2) * 1000L);

        postgres = EmbeddedDatabase.start(dir, port);
        Await.until(() -> rig.http.get(gw.managementPort(), "/health/ready", null).statusCode() == 200, 60);
        long callsAtRestart = rig.stats("DB").getLong("requests");
        Await.until(() -> rig.stats("DB").getLong("requests") > callsAtRestart, 60);
        System.out.printf("PostgreSQL restart: Epic called again %d ms after the database stopped%n",
                (System.nanoTime() - stoppedAt) / 1_000_000);

        burst.finish();
        FaultRig.Count count = rig.awaitDrained("DB", 120, burst);
        System.out.printf("PostgreSQL restart mid-burst: %s; sends refused %d %s%n", count, burst.refused.get(), burst.statuses);
        assertThat(burst.statuses).containsKey(503); // the burst itself met the outage too
        assertThat(count.lost()).as(count.toString()).isZero();
        assertThat(count.afterCheckOut()).as(count.toString()).isZero();
        assertThat(count.duplicates()).as(count.toString()).isLessThanOrEqualTo(CrashTest.duplicatesAllowedPerCrash());
        assertThat(count.maxInAnySecond()).as(count.toString()).isLessThanOrEqualTo(RATE + BURST);
        assertThat(TestPostgres.count(postgres.url(), "SELECT count(*) FROM device_event WHERE event_id = 'away-1'"))
                .as("the check-in answered 503 was not stored").isZero();
    }

    @Test
    @DisplayName("every backend connection killed (pg_terminate_backend) mid-burst: the gateway reconnects by itself "
            + "and nothing acknowledged is lost")
    void backendsTerminated() throws Exception {
        FaultRig.Burst burst = rig.new Burst(gw::publicPort, "db", "t", 2000, 20, 20);
        burst.start();
        for (int round = 1; round <= 3; round++) {
            int devicesSoFar = round * 400;
            Await.until(() -> rig.stats("DB").getLong("devices") >= devicesSoFar, 60);
            try (Connection c = TestPostgres.connect(postgres.url()); Statement s = c.createStatement()) {
                s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                        + "AND pid <> pg_backend_pid()");
            }
        }
        burst.finish();
        FaultRig.Count count = rig.awaitDrained("DB", 120, burst);
        System.out.printf("pg_terminate_backend x 3 mid-burst: %s; sends refused %d %s%n", count, burst.refused.get(), burst.statuses);
        assertThat(count.acknowledged()).isEqualTo(2000);
        assertThat(count.lost()).as(count.toString()).isZero();
        assertThat(count.afterCheckOut()).as(count.toString()).isZero();
        assertThat(count.duplicates()).as(count.toString()).isLessThanOrEqualTo(3 * CrashTest.duplicatesAllowedPerCrash());
        assertThat(count.maxInAnySecond()).as(count.toString()).isLessThanOrEqualTo(RATE + BURST);
    }

    @Test
    @DisplayName("a read-only database (as on a full disk or a demoted primary): ingest refuses with 503, nothing is "
            + "half-written, and it accepts again once the database is writable")
    void readOnly() throws Exception {
        String url = postgres.url();
        long eventsBefore = TestPostgres.count(url, "SELECT count(*) FROM device_event");
        long jobsBefore = TestPostgres.count(url, "SELECT count(*) FROM disassociation_job");
        setReadOnly(true);
        try {
            JsonArray events = new JsonArray();
            for (int i = 0; i < 50; i++) {
                events.add(checkIn("ro-" + i, "db", "dev-ro-" + i, "2026-11-29T07:00:00Z"));
            }
            HttpResponse<Buffer> refused = rig.http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                    new io.vertx.core.json.JsonObject().put("events", events));
            assertThat(refused.statusCode()).as(refused.bodyAsString()).isEqualTo(503);
            assertThat(refused.getHeader("Retry-After")).isNotBlank();
            assertThat(TestPostgres.count(url, "SELECT count(*) FROM device_event")).isEqualTo(eventsBefore);
            assertThat(TestPostgres.count(url, "SELECT count(*) FROM disassociation_job")).isEqualTo(jobsBefore);
        } finally {
            setReadOnly(false);
        }
        Await.until(() -> rig.http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                checkIn("ro-after", "db", "dev-ro-after", "2026-11-29T07:00:00Z")).statusCode() == 202, 30);
        Await.until(() -> rig.calls("DB").getJsonObject("devices").containsKey("dev-ro-after"), 30);
    }

    private void setReadOnly(boolean readOnly) throws Exception {
        try (Connection c = TestPostgres.connect(postgres.url()); Statement s = c.createStatement()) {
            s.execute(readOnly ? "ALTER SYSTEM SET default_transaction_read_only = on"
                    : "ALTER SYSTEM RESET default_transaction_read_only");
            s.execute("SELECT pg_reload_conf()");
        }
        // the setting reaches every backend at its next command; make sure it has reached a new one
        Await.until(() -> TestPostgres.column(postgres.url(), "SHOW default_transaction_read_only").get(0)
                .equals(readOnly ? "on" : "off"), 10);
    }
}
