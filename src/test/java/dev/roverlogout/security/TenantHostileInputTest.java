package dev.roverlogout.security;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * The hostile-input oracle ({@link HostileOracle}: never a 5xx, refusals are problem details naming the field, nothing
 * of a refused request stored) on the tenant and credential routes: mutated bodies and hostile path segments.
 */
class TenantHostileInputTest {
    private static TestGateway gw;
    private static Http http;
    private static HostileOracle oracle;
    private static final AtomicLong SEQ = new AtomicLong();

    @BeforeContainer
    static void start() {
        gw = TestGateway.start(Map.of());
        http = new Http();
        oracle = new HostileOracle(gw, http);
        http.post(gw.managementPort(), "/admin/tenants", TestGateway.ADMIN, new JsonObject().put("id", "fz-tenant"));
        JsonObject env = Fixtures.environment("fz-tenant-env").put("tenantId", "fz-tenant");
        http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, env);
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

    @Provide
    Arbitrary<String> tenantBodies() {
        Arbitrary<String> one = Arbitraries.just(0).flatMap(x -> {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("id", JsonText.quote("fz-t-" + SEQ.incrementAndGet()));
            m.put("displayName", JsonText.quote("Hospital"));
            return JsonText.mutated(m);
        });
        return Arbitraries.frequencyOf(Tuple.of(4, one), Tuple.of(1, JsonText.values(3)));
    }

    @Property(tries = 150)
    @Label("tenant create and rename: mutated bodies never get a 5xx; refusals name the field and store nothing")
    void tenants(@ForAll("tenantBodies") String body) {
        oracle.send(HttpMethod.POST, true, "/admin/tenants", TestGateway.ADMIN, "application/json",
                Buffer.buffer(body.getBytes(StandardCharsets.UTF_8)));
        oracle.send(HttpMethod.PATCH, true, "/admin/tenants/fz-tenant", TestGateway.ADMIN, "application/json",
                Buffer.buffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<String> credentialBodies() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("name", JsonText.quote("lockers"));
        m.put("environments", "[\"fz-tenant-env\"]");
        m.put("rateLimitPerSecond", "100");
        return Arbitraries.frequencyOf(Tuple.of(4, JsonText.mutated(m)), Tuple.of(1, JsonText.values(3)));
    }

    @Property(tries = 150)
    @Label("credential create: mutated bodies never get a 5xx; refusals name the field and store nothing")
    void credentials(@ForAll("credentialBodies") String body) {
        oracle.send(HttpMethod.POST, true, "/admin/tenants/fz-tenant/credentials", TestGateway.ADMIN, "application/json",
                Buffer.buffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<String> segments() {
        return JsonText.asPathSegments(Arbitraries.oneOf(Arbitraries.strings().all().ofMinLength(1).ofMaxLength(30),
                        Arbitraries.of("%00", "a%00b", "%ff", "%ed%a0%80", "..", "%2e%2e", "x".repeat(300), "cred_%00",
                                "cred_AAAAAAAAAAAAAAAAAAAA", "FZ-TENANT")));
    }

    @Property(tries = 150)
    @Label("tenant routes: hostile path segments are a 4xx problem, never a 5xx, and change nothing")
    void paths(@ForAll("segments") String segment) {
        oracle.send(HttpMethod.GET, true, "/admin/tenants/" + segment, TestGateway.ADMIN, null, null);
        oracle.send(HttpMethod.DELETE, true, "/admin/tenants/fz-tenant/credentials/" + segment, TestGateway.ADMIN, null, null);
        oracle.send(HttpMethod.GET, true, "/admin/tenants/" + segment + "/credentials", TestGateway.ADMIN, null, null);
    }
}
