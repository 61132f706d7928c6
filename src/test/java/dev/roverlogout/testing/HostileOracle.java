package dev.roverlogout.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/**
 * What every hostile request must get (issue 7): never a 5xx; a refusal is an RFC 9457 problem
 * ({@code application/problem+json} with {@code type}, {@code title}, {@code status}, {@code detail}); a 400 for a
 * body that is a JSON object names the bad field in {@code errors}; and nothing of a refused request is stored (row
 * counts of every table a request can write are unchanged). Requests go over real HTTP to a {@link TestGateway}.
 */
public final class HostileOracle implements AutoCloseable {
    /**
     * Every table an ingest or admin request can write (db/migration), but audit_entry: a refused admin change is
     * recorded there on purpose (outcome refused), which is a record of the attempt, not a change.
     */
    private static final List<String> TABLES = List.of("device_event", "disassociation_job", "device", "environment",
            "environment_status_change", "signing_key", "tenant", "ingest_credential");

    private final TestGateway gw;
    private final Http http;
    private final Connection db;

    public HostileOracle(TestGateway gw, Http http) {
        this.gw = gw;
        this.http = http;
        try {
            this.db = TestPostgres.connect(gw.databaseUrl());
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One request, judged. {@code management} = the management port, else the public one. */
    public HttpResponse<Buffer> send(HttpMethod method, boolean management, String path, String token, String contentType,
                                     Buffer body) {
        String before = counts();
        var req = http.client().request(method, management ? gw.managementPort() : gw.publicPort(), "127.0.0.1", path);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        if (contentType != null) {
            req.putHeader("Content-Type", contentType);
        }
        HttpResponse<Buffer> r = TestGateway.join(body == null ? req.send() : req.sendBuffer(body));
        String what = method + " " + path + " with " + describe(body) + " -> " + r.statusCode() + " " + r.bodyAsString();
        assertThat(r.statusCode()).as("never a 5xx: " + what).isLessThan(500);
        if (r.statusCode() >= 400) {
            assertProblem(r, what);
            if (r.statusCode() == 400 && isJsonObject(body)) {
                JsonArray errors = r.bodyAsJsonObject().getJsonArray("errors");
                assertThat(errors).as("a 400 for a JSON object names the field: " + what).isNotNull().isNotEmpty();
                errors.forEach(e -> assertThat(((JsonObject) e).getString("field")).as(what).isNotNull());
            }
            assertThat(counts()).as("nothing of a refused request is stored: " + what).isEqualTo(before);
        }
        return r;
    }

    /** The problem-details shape of a 4xx. */
    public static void assertProblem(HttpResponse<Buffer> r, String what) {
        assertThat(r.getHeader("Content-Type")).as("problem content type: " + what).startsWith("application/problem+json");
        JsonObject p = r.bodyAsJsonObject();
        assertThat(p.getInteger("status")).as(what).isEqualTo(r.statusCode());
        assertThat(p.getString("title")).as(what).isNotBlank();
        assertThat(p.getString("detail")).as(what).isNotBlank();
        assertThat(p.getString("type")).as(what).isNotBlank();
    }

    /** The gateway is still healthy: /health/ready answers 200. */
    public void assertHealthy() {
        assertThat(http.get(gw.managementPort(), "/health/ready", null).statusCode()).isEqualTo(200);
    }

    /** Row counts of every table, as one comparable string. */
    public String counts() {
        StringBuilder sql = new StringBuilder("SELECT ");
        for (int i = 0; i < TABLES.size(); i++) {
            sql.append(i > 0 ? ", " : "").append("(SELECT count(*) FROM ").append(TABLES.get(i)).append(")");
        }
        try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(sql.toString())) {
            rs.next();
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < TABLES.size(); i++) {
                out.append(TABLES.get(i)).append('=').append(rs.getLong(i + 1)).append(' ');
            }
            return out.toString();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isJsonObject(Buffer body) {
        if (body == null || body.length() == 0 || !dev.roverlogout.http.BodyText.isUtf8(body)) {
            return false; // invalid UTF-8 is refused as a whole: no field to name
        }
        try {
            return Json.decodeValue(body) instanceof JsonObject;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static String describe(Buffer body) {
        if (body == null) {
            return "no body";
        }
        String text = body.toString();
        return text.length() > 300 ? body.length() + " bytes starting " + text.substring(0, 200) : text;
    }

    @Override
    public void close() {
        try {
            db.close();
        } catch (SQLException e) {
            // closing a test connection
        }
    }
}
