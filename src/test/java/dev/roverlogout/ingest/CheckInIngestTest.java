package dev.roverlogout.ingest;

import static dev.roverlogout.testing.Fixtures.batch;
import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.checkOut;
import static dev.roverlogout.testing.TestPostgres.column;
import static dev.roverlogout.testing.TestPostgres.count;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/** POST /v1/checkins against a running gateway and real PostgreSQL: status codes and queue semantics. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CheckInIngestTest {
    private TestGateway gw;
    private Http http;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of());
        http = new Http();
        Fixtures.environment(http, gw, "ready", "READY");
        Fixtures.environment(http, gw, "paused", "PAUSED");
        Fixtures.environment(http, gw, "pending", "PENDING");
        Fixtures.environment(http, gw, "disabled", "DISABLED");
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
    }

    private HttpResponse<Buffer> ingest(JsonObject body) {
        return http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, body);
    }

    private long queuedJobs(String env, String device) {
        return count(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE environment_id = ? AND device_id = ? "
                + "AND state = 'queued'", env, device);
    }

    private long events(String eventIdPrefix) {
        return count(gw.databaseUrl(), "SELECT count(*) FROM device_event WHERE event_id LIKE ?", eventIdPrefix + "%");
    }

    @Test
    @DisplayName("a single check-in is answered 202 after it is stored, and queues one job")
    void singleCheckIn() {
        HttpResponse<Buffer> r = ingest(checkIn("single-1", "ready", "dev-single", "2026-11-29T07:00:00Z"));
        assertThat(r.statusCode()).isEqualTo(202);
        JsonObject body = r.bodyAsJsonObject();
        assertThat(body.getInteger("accepted")).isEqualTo(1);
        assertThat(body.getInteger("duplicates")).isZero();
        assertThat(body.getJsonArray("results").getJsonObject(0).getString("status")).isEqualTo("accepted");
        assertThat(r.getHeader("X-Request-ID")).isNotBlank();
        assertThat(queuedJobs("ready", "dev-single")).isEqualTo(1);
    }

    @Test
    @DisplayName("a re-sent eventId is reported as duplicate and stores nothing")
    void duplicate() {
        JsonObject e = checkIn("dup-1", "ready", "dev-dup", "2026-11-29T07:00:00Z");
        assertThat(ingest(e).statusCode()).isEqualTo(202);
        HttpResponse<Buffer> again = ingest(e.copy().put("deviceId", "dev-dup-other"));
        assertThat(again.statusCode()).isEqualTo(202);
        assertThat(again.bodyAsJsonObject().getInteger("duplicates")).isEqualTo(1);
        assertThat(again.bodyAsJsonObject().getJsonArray("results").getJsonObject(0).getString("status")).isEqualTo("duplicate");
        assertThat(events("dup-")).isEqualTo(1);
        assertThat(queuedJobs("ready", "dev-dup-other")).isZero();
    }

    @Test
    @DisplayName("a second check-in of a device whose job is still queued is coalesced into that job")
    void coalescing() {
        JsonObject r = ingest(batch(checkIn("coal-1", "ready", "dev-coal", "2026-11-29T07:00:00Z"),
                checkIn("coal-2", "ready", "dev-coal", "2026-11-29T07:01:00Z"))).bodyAsJsonObject();
        assertThat(r.getInteger("accepted")).isEqualTo(2);
        assertThat(r.getJsonArray("results").getJsonObject(1).getString("outcome")).isEqualTo("coalesced");
        ingest(checkIn("coal-3", "ready", "dev-coal", "2026-11-29T07:02:00Z"));
        assertThat(queuedJobs("ready", "dev-coal")).isEqualTo(1);
        assertThat(column(gw.databaseUrl(), "SELECT checked_in_at::text FROM disassociation_job WHERE device_id = 'dev-coal'"))
                .containsExactly("2026-11-29 07:02:00+00");
    }

    @Test
    @DisplayName("a later check-out cancels the still-queued job: the next user is never logged out")
    void checkOutCancelsQueuedJob() {
        ingest(checkIn("fence-1", "ready", "dev-fence", "2026-11-29T07:00:00Z"));
        JsonObject r = ingest(checkOut("fence-2", "ready", "dev-fence", "2026-11-29T07:10:00Z")).bodyAsJsonObject();
        assertThat(r.getJsonArray("results").getJsonObject(0).getString("outcome")).isEqualTo("cancelled_job");
        assertThat(queuedJobs("ready", "dev-fence")).isZero();
        assertThat(column(gw.databaseUrl(), "SELECT state FROM disassociation_job WHERE device_id = 'dev-fence'"))
                .containsExactly("cancelled");
        assertThat(http.get(gw.managementPort(), "/metrics", null).bodyAsString())
                .containsPattern("rlg_disassociations_total\\{environment=\"ready\",outcome=\"cancelled\"} [1-9]");
        JsonObject job = http.get(gw.managementPort(), "/admin/devices/dev-fence/history", TestGateway.ADMIN).bodyAsJsonObject()
                .getJsonArray("jobs").getJsonObject(0);
        assertThat(job.getValue("checkedOutDuringCallAt")).as("no call was under way: the job never left the queue").isNull();
        assertThat(job.getString("cancelledByCheckOutAt")).startsWith("2026-11-29T07:10");
    }

    @Test
    @DisplayName("a check-out while the device's call is already being sent fences the job: counted, recorded, never re-sent")
    void checkOutWhileSending() {
        ingest(checkIn("race-1", "ready", "dev-race", "2026-11-29T07:00:00Z"));
        // what a dispatch lane does when it claims the job (issue 4 owns the lanes)
        column(gw.databaseUrl(), "UPDATE disassociation_job SET state = 'sending', lease_owner = 'test', "
                + "lease_expires_at = now() + interval '1 minute' WHERE device_id = 'dev-race' RETURNING id");
        JsonObject r = ingest(checkOut("race-2", "ready", "dev-race", "2026-11-29T07:10:00Z")).bodyAsJsonObject();
        assertThat(r.getJsonArray("results").getJsonObject(0).getString("outcome")).isEqualTo("cancel_race");
        assertThat(column(gw.databaseUrl(), "SELECT fenced_at::text FROM disassociation_job WHERE device_id = 'dev-race'"))
                .containsExactly("2026-11-29 07:10:00+00");
        assertThat(column(gw.databaseUrl(), "SELECT outcome FROM device_event WHERE event_id = 'race-2'"))
                .containsExactly("cancel_race");
        assertThat(http.get(gw.managementPort(), "/metrics", null).bodyAsString())
                .contains("rlg_checkout_races_total{environment=\"ready\"} 1.0");
        JsonObject job = http.get(gw.managementPort(), "/admin/devices/dev-race/history", TestGateway.ADMIN).bodyAsJsonObject()
                .getJsonArray("jobs").getJsonObject(0);
        assertThat(job.getString("checkedOutDuringCallAt")).startsWith("2026-11-29T07:10");
        assertThat(job.getValue("cancelledByCheckOutAt")).isNull();
    }

    @Test
    @DisplayName("an eventId with an unpaired surrogate escape is refused: it could not be stored unchanged")
    void unpairedSurrogate() {
        HttpResponse<Buffer> r = http.postRaw(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, "application/json",
                Buffer.buffer("{\"eventId\":\"sur-\\ud800\",\"environmentId\":\"ready\",\"deviceId\":\"dev-sur\","
                        + "\"occurredAt\":\"2026-11-29T07:00:00Z\"}"));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("eventId");
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE device_id = 'dev-sur'")).isZero();
    }

    @Test
    @DisplayName("an earlier check-out arriving late does not cancel the job of a later check-in")
    void earlierCheckOutDoesNotCancel() {
        ingest(checkIn("late-1", "ready", "dev-late", "2026-11-29T07:10:00Z"));
        ingest(checkOut("late-2", "ready", "dev-late", "2026-11-29T07:00:00Z"));
        assertThat(queuedJobs("ready", "dev-late")).isEqualTo(1);
    }

    @Test
    @DisplayName("a check-in arriving after a check-out with a later occurredAt creates no job")
    void checkOutBeforeCheckIn() {
        ingest(checkOut("ooo-2", "ready", "dev-ooo", "2026-11-29T07:10:00Z"));
        JsonObject r = ingest(checkIn("ooo-1", "ready", "dev-ooo", "2026-11-29T07:00:00Z")).bodyAsJsonObject();
        assertThat(r.getJsonArray("results").getJsonObject(0).getString("outcome")).isEqualTo("superseded");
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE device_id = 'dev-ooo'")).isZero();
        // both orders inside one request behave the same
        ingest(batch(checkOut("ooo-4", "ready", "dev-ooo2", "2026-11-29T07:10:00Z"),
                checkIn("ooo-3", "ready", "dev-ooo2", "2026-11-29T07:00:00Z")));
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE device_id = 'dev-ooo2'")).isZero();
    }

    @Test
    @DisplayName("check-ins for PENDING and DISABLED environments are skipped; PAUSED environments queue")
    void environmentStatus() {
        JsonObject r = ingest(batch(checkIn("st-1", "pending", "dev-st", "2026-11-29T07:00:00Z"),
                checkIn("st-2", "disabled", "dev-st", "2026-11-29T07:00:00Z"),
                checkIn("st-3", "paused", "dev-st", "2026-11-29T07:00:00Z"))).bodyAsJsonObject();
        JsonArray results = r.getJsonArray("results");
        assertThat(results.getJsonObject(0).getString("outcome")).isEqualTo("skipped");
        assertThat(results.getJsonObject(1).getString("outcome")).isEqualTo("skipped");
        assertThat(results.getJsonObject(2).getString("outcome")).isEqualTo("queued");
        assertThat(queuedJobs("pending", "dev-st")).isZero();
        assertThat(queuedJobs("disabled", "dev-st")).isZero();
        assertThat(queuedJobs("paused", "dev-st")).isEqualTo(1);
        assertThat(column(gw.databaseUrl(), "SELECT outcome FROM device_event WHERE event_id IN ('st-1', 'st-2')"))
                .containsOnly("skipped");
    }

    @Test
    @DisplayName("a batch with one bad event is refused whole with per-field errors, and nothing of it is stored")
    void allOrNothing() {
        HttpResponse<Buffer> r = ingest(batch(checkIn("aon-1", "ready", "dev-aon", "2026-11-29T07:00:00Z"),
                checkIn("aon-2", "ready", "{DeviceUuId}", "2026-11-29T07:00:00Z"),
                new JsonObject().put("eventId", "aon-3").put("environmentId", "ready").put("deviceId", "d")
                        .put("occurredAt", "not a time")));
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.getHeader("Content-Type")).startsWith("application/problem+json");
        JsonArray errors = r.bodyAsJsonObject().getJsonArray("errors");
        assertThat(errors).hasSize(2);
        assertThat(errors.getJsonObject(0).getInteger("index")).isEqualTo(1);
        assertThat(errors.getJsonObject(0).getString("field")).isEqualTo("deviceId");
        assertThat(errors.getJsonObject(0).getString("message")).contains("epicRoverEpicMobileDeviceID");
        assertThat(errors.getJsonObject(1).getInteger("index")).isEqualTo(2);
        assertThat(errors.getJsonObject(1).getString("field")).isEqualTo("occurredAt");
        assertThat(r.bodyAsJsonObject().getString("detail")).as("the detail says where, too")
                .contains("events[1].deviceId").contains("events[2].occurredAt");
        HttpResponse<Buffer> one = ingest(batch(checkIn("aon-4", "ready", "dev-aon", "2026-11-29T07:00:00Z"),
                checkIn("aon-5", "ready", "dev-aon-5", "yesterday")));
        assertThat(one.bodyAsJsonObject().getString("detail")).startsWith("events[1].occurredAt: must be");
        assertThat(events("aon-")).isZero();
    }

    @Test
    @DisplayName("malformed JSON, a missing field and a wrong type are 400 problem details naming the field")
    void badRequests() {
        HttpResponse<Buffer> malformed = http.postRaw(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                "application/json", Buffer.buffer("{\"eventId\": "));
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(malformed.bodyAsJsonObject().getString("type")).isNotBlank();
        HttpResponse<Buffer> twoLines = http.postRaw(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                "application/json", Buffer.buffer("{\"events\": [\n  {\"eventId\": \"x\",, \"deviceId\": \"d\"}]}"));
        assertThat(twoLines.bodyAsJsonObject().getString("detail")).as("where the JSON broke").contains("line 2, column");
        HttpResponse<Buffer> missing = ingest(new JsonObject().put("eventId", "m-1").put("environmentId", "ready")
                .put("occurredAt", "2026-11-29T07:00:00Z"));
        assertThat(missing.statusCode()).isEqualTo(400);
        assertThat(missing.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("deviceId");
        HttpResponse<Buffer> wrongType = ingest(checkIn("m-2", "ready", "d", "2026-11-29T07:00:00Z").put("type", "LOGOUT"));
        assertThat(wrongType.statusCode()).isEqualTo(400);
        assertThat(wrongType.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("type");
        assertThat(events("m-")).isZero();
    }

    @Test
    @DisplayName("a batch of 1001 events is 400 and a body over 1 MiB is 413; nothing is stored")
    void limits() {
        JsonArray many = new JsonArray();
        for (int i = 0; i < 1001; i++) {
            many.add(checkIn("lim-" + i, "ready", "dev-lim-" + i, "2026-11-29T07:00:00Z"));
        }
        HttpResponse<Buffer> tooMany = ingest(new JsonObject().put("events", many));
        assertThat(tooMany.statusCode()).isEqualTo(400);
        assertThat(tooMany.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("events");
        String pad = "x".repeat(1024 * 1024);
        HttpResponse<Buffer> tooLarge = ingest(checkIn("lim-big", "ready", "dev-big", "2026-11-29T07:00:00Z").put("lockerId", pad));
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(events("lim-")).isZero();
        JsonArray thousand = new JsonArray();
        for (int i = 0; i < 1000; i++) {
            thousand.add(checkIn("lim-ok-" + i, "ready", "dev-lim-" + i, "2026-11-29T07:00:00Z"));
        }
        assertThat(ingest(new JsonObject().put("events", thousand)).bodyAsJsonObject().getInteger("accepted")).isEqualTo(1000);
    }

    @Test
    @DisplayName("a non-JSON content type is 415")
    void unsupportedMediaType() {
        HttpResponse<Buffer> r = http.postRaw(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, "text/plain",
                Buffer.buffer(checkIn("ct-1", "ready", "d", "2026-11-29T07:00:00Z").encode()));
        assertThat(r.statusCode()).isEqualTo(415);
        assertThat(events("ct-")).isZero();
    }

    @Test
    @DisplayName("no token or an unknown token is 401, the admin token lacks the ingest role: 403")
    void auth() {
        JsonObject e = checkIn("auth-1", "ready", "d", "2026-11-29T07:00:00Z");
        HttpResponse<Buffer> none = http.post(gw.publicPort(), "/v1/checkins", null, e);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.getHeader("WWW-Authenticate")).startsWith("Bearer");
        HttpResponse<Buffer> unknown = http.post(gw.publicPort(), "/v1/checkins", "wrong-token-wrong-token", e);
        assertThat(unknown.statusCode()).isEqualTo(401);
        assertThat(unknown.bodyAsJsonObject().getString("detail")).as("where ingest tokens come from, naming no path")
                .contains("auth.ingestToken").contains("RLG_AUTH_INGESTTOKEN").contains("credentials")
                .doesNotContain("/tmp").doesNotContain(TestGateway.INGEST);
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.ADMIN, e).statusCode()).isEqualTo(403);
        assertThat(events("auth-")).isZero();
    }

    @Test
    @DisplayName("an unknown environmentId is 422 listing it, and nothing of the request is stored")
    void unknownEnvironment() {
        HttpResponse<Buffer> r = ingest(batch(checkIn("unk-1", "ready", "dev-unk", "2026-11-29T07:00:00Z"),
                checkIn("unk-2", "no-such-env", "dev-unk", "2026-11-29T07:00:00Z")));
        assertThat(r.statusCode()).isEqualTo(422);
        JsonObject error = r.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0);
        assertThat(error.getInteger("index")).isEqualTo(1);
        assertThat(error.getString("field")).isEqualTo("environmentId");
        assertThat(events("unk-")).isZero();
    }

    @Test
    @DisplayName("metrics count check-ins by environment, type and result, and rejections by reason")
    void metrics() {
        ingest(checkIn("met-1", "ready", "dev-met", "2026-11-29T07:00:00Z"));
        ingest(checkIn("met-1", "ready", "dev-met", "2026-11-29T07:00:00Z"));
        http.post(gw.publicPort(), "/v1/checkins", null, checkIn("met-2", "ready", "dev-met", "2026-11-29T07:00:00Z"));
        String text = http.get(gw.managementPort(), "/metrics", null).bodyAsString();
        assertThat(text).containsPattern("rlg_checkins_total\\{environment=\"ready\",result=\"accepted\",type=\"CHECK_IN\"}")
                .containsPattern("rlg_checkins_total\\{environment=\"ready\",result=\"duplicate\",type=\"CHECK_IN\"}")
                .containsPattern("rlg_ingest_rejected_total\\{reason=\"unauthorized\"}")
                .contains("vertx_http_server_requests_total")
                .contains("rlg_ingest_commits_total");
    }
}
