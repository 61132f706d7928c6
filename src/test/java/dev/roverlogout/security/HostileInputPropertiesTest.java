package dev.roverlogout.security;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Property-based hostile input against a real gateway (real HTTP, real PostgreSQL): random and mutated JSON, wrong
 * types, huge numbers, nesting, NUL and unpaired surrogates, invalid UTF-8, duplicate keys, hostile path segments, on
 * {@code POST /v1/checkins} and every admin route that reads a body or a path parameter. The oracle
 * ({@link HostileOracle}): never a 5xx, refusals are problem details naming the field, a refused request stores
 * nothing; after each property the gateway is still ready. Tries are modest (the suite stays fast); the fixed seeds
 * that found bugs live in {@code src/test/resources/fuzz/} and are replayed by {@link FuzzCorpusTest}.
 */
class HostileInputPropertiesTest {
    private static TestGateway gw;
    private static Http http;
    private static HostileOracle oracle;
    private static final AtomicLong SEQ = new AtomicLong();

    @BeforeContainer
    static void start() {
        gw = TestGateway.start(Map.of());
        http = new Http();
        oracle = new HostileOracle(gw, http);
        Fixtures.environment(http, gw, "fz-ready", "READY");
        Fixtures.environment(http, gw, "fz-patch", "PENDING");
        Fixtures.environment(http, gw, "fz-status", "READY");
    }

    @AfterContainer
    static void stop() {
        oracle.close();
        http.close();
        gw.close();
    }

    @AfterProperty
    void stillHealthy() {
        oracle.assertHealthy();
    }

    private static Map<String, String> validCheckIn() {
        long n = SEQ.incrementAndGet();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("eventId", JsonText.quote("fz-" + n));
        m.put("type", JsonText.quote(n % 2 == 0 ? "CHECK_IN" : "CHECK_OUT"));
        m.put("environmentId", JsonText.quote("fz-ready"));
        m.put("deviceId", JsonText.quote("dev-fz-" + n));
        m.put("occurredAt", JsonText.quote("2026-11-29T07:00:00Z"));
        m.put("userId", JsonText.quote("nurse-1"));
        m.put("lockerId", JsonText.quote("locker-1"));
        return m;
    }

    @Provide
    Arbitrary<String> mutatedCheckIns() {
        Arbitrary<String> one = Arbitraries.just(0).flatMap(x -> JsonText.mutated(validCheckIn()));
        return Arbitraries.frequencyOf(
                Tuple.of(3, one),
                Tuple.of(2, one.list().ofMinSize(1).ofMaxSize(5).map(l -> "{\"events\":[" + String.join(",", l) + "]}")),
                Tuple.of(1, JsonText.values(3)),
                Tuple.of(1, JsonText.values(2).map(v -> "{\"events\":" + v + "}")));
    }

    @Property(tries = 400)
    @Label("check-ins: mutated and random JSON never gets a 5xx, refusals are problems naming the field, store nothing")
    void checkInsJson(@ForAll("mutatedCheckIns") String body) {
        oracle.send(HttpMethod.POST, false, "/v1/checkins", TestGateway.INGEST, "application/json",
                Buffer.buffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<byte[]> hostileBytes() {
        byte[] valid = ("{\"eventId\":\"fzb-1\",\"environmentId\":\"fz-ready\",\"deviceId\":\"d-1\","
                + "\"occurredAt\":\"2026-11-29T07:00:00Z\"}").getBytes(StandardCharsets.UTF_8);
        Arbitrary<byte[]> flipped = Combinators.combine(Arbitraries.integers().between(0, valid.length - 1),
                        Arbitraries.of((byte) 0, (byte) 0xff, (byte) 0xc0, (byte) 0xed, (byte) 0x80, (byte) '"', (byte) '{'))
                .as((i, b) -> {
                    byte[] copy = valid.clone();
                    copy[i] = b;
                    return copy;
                });
        Arbitrary<byte[]> truncated = Arbitraries.integers().between(0, valid.length - 1)
                .map(n -> java.util.Arrays.copyOf(valid, n));
        return Arbitraries.oneOf(Arbitraries.bytes().array(byte[].class).ofMaxSize(300), flipped, truncated);
    }

    @Property(tries = 300)
    @Label("check-ins: random bytes, invalid UTF-8, NUL bytes and truncated bodies are 4xx problems and store nothing")
    void checkInsBytes(@ForAll("hostileBytes") byte[] body,
                       @ForAll("contentTypes") String contentType) {
        oracle.send(HttpMethod.POST, false, "/v1/checkins", TestGateway.INGEST, contentType, Buffer.buffer(body));
    }

    @Provide
    Arbitrary<String> contentTypes() {
        return Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just("application/json")),
                Tuple.of(1, Arbitraries.of("application/json; charset=latin1", "text/plain", "application/x-www-form-urlencoded",
                        "application/problem+json", "application/json;;;", "")));
    }

    private static Map<String, String> validEnvironment() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("id", JsonText.quote("fz-env-" + SEQ.incrementAndGet()));
        m.put("displayName", JsonText.quote("Fuzz"));
        m.put("interconnectUrl", JsonText.quote("https://epic.example.org"));
        m.put("instance", JsonText.quote("Interconnect-PRD"));
        m.put("clientId", JsonText.quote("client"));
        m.put("rateLimitPerSecond", "20");
        m.put("burst", "20");
        m.put("maxConcurrency", "8");
        m.put("signingAlgorithm", JsonText.quote("ES384"));
        m.put("disassociatePath", JsonText.quote("/api/x"));
        m.put("tokenAudience", JsonText.quote("https://epic.example.org/token"));
        m.put("allowInsecure", "false");
        return m;
    }

    @Provide
    Arbitrary<String> environmentBodies() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.just(0).flatMap(x -> JsonText.mutated(validEnvironment()))),
                Tuple.of(1, JsonText.values(3)));
    }

    @Property(tries = 250)
    @Label("admin create: mutated environments never get a 5xx; refusals name the field and create nothing")
    void createEnvironment(@ForAll("environmentBodies") String body) {
        oracle.send(HttpMethod.POST, true, "/admin/environments", TestGateway.ADMIN, "application/json",
                Buffer.buffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Property(tries = 250)
    @Label("admin PATCH: mutated environment fields never get a 5xx; refusals name the field and change nothing")
    void patchEnvironment(@ForAll("environmentBodies") String body) {
        oracle.send(HttpMethod.PATCH, true, "/admin/environments/fz-patch", TestGateway.ADMIN, "application/json",
                Buffer.buffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<String> bodyRoutes() {
        return Arbitraries.of("/admin/environments/fz-status/activate", "/admin/environments/fz-status/pause",
                "/admin/environments/fz-status/resume", "/admin/environments/fz-status/disable",
                "/admin/dead-letters/replay");
    }

    @Provide
    Arbitrary<String> replayAndReasonBodies() {
        Map<String, String> replay = new LinkedHashMap<>();
        replay.put("ids", "[1,2,3]");
        Map<String, String> replayEnv = new LinkedHashMap<>();
        replayEnv.put("environmentId", JsonText.quote("fz-ready"));
        Map<String, String> reason = new LinkedHashMap<>();
        reason.put("reason", JsonText.quote("maintenance"));
        return Arbitraries.oneOf(JsonText.mutated(replay), JsonText.mutated(replayEnv), JsonText.mutated(reason),
                JsonText.values(2));
    }

    @Property(tries = 250)
    @Label("admin status and replay routes: any body never gets a 5xx; refusals change nothing")
    void bodyRoutes(@ForAll("bodyRoutes") String path, @ForAll("replayAndReasonBodies") String body) {
        oracle.send(HttpMethod.POST, true, path, TestGateway.ADMIN, "application/json",
                Buffer.buffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<String> segments() {
        return JsonText.asPathSegments(Arbitraries.oneOf(
                Arbitraries.strings().all().ofMinLength(1).ofMaxLength(30),
                Arbitraries.of("%00", "a%00b", "%ff", "%c0%af", "%ed%a0%80", "..", "%2e%2e", "%2f", "x".repeat(300), "%",
                        "%zz", "fz-unknown", "FZ-READY", "fz-unknown.json", "%0d%0aX-Injected:%201")));
    }

    private static final List<String> PATH_TEMPLATES = List.of("GET /admin/environments/%s",
            "GET /admin/environments/%s/public-key.pem", "DELETE /admin/environments/%s",
            "POST /admin/environments/%s/activate", "GET /admin/devices/%s/history",
            "GET /admin/devices/d/history?environmentId=%s&limit=%s", "GET /admin/dead-letters?environmentId=%s",
            "GET /admin/dead-letters?limit=%s", "GET /admin/queue?environmentId=%s",
            "POST /admin/environments/%s/keys/rotate", "GET /jwks/%s", "GET /jwks/%s.json");

    @Property(tries = 300)
    @Label("hostile path segments and query parameters (NUL, invalid UTF-8, traversal) never get a 5xx")
    void paths(@ForAll("segments") String segment, @ForAll("templates") String template) {
        String[] parts = template.split(" ", 2);
        String path = parts[1].replace("%s", segment);
        oracle.send(HttpMethod.valueOf(parts[0]), !parts[1].startsWith("/jwks"), path,
                TestGateway.ADMIN, null, null);
    }

    @Provide
    Arbitrary<String> templates() {
        return Arbitraries.of(PATH_TEMPLATES);
    }
}
