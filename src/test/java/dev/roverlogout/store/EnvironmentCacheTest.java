package dev.roverlogout.store;

import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;

/** Two replicas on one database: a change made through one is in the other's memory at once (LISTEN/NOTIFY). */
class EnvironmentCacheTest {
    @Test
    @DisplayName("a create, a PATCH, a key rotation and a delete on one replica reach the other's cache within a second")
    void changesReachOtherReplicas() throws Exception {
        String url = TestPostgres.newDatabase();
        try (TestGateway first = TestGateway.start(url, Map.of()); TestGateway second = TestGateway.start(url, Map.of());
             Http http = new Http()) {
            EnvironmentCache cache = second.gateway().environments();
            http.post(first.managementPort(), "/admin/environments", TestGateway.ADMIN, environment("shared"));
            Await.until(() -> cache.get("shared").isPresent(), 1); // within a second (the fallback refresh is 30 s)
            assertThat(cache.get("shared").orElseThrow().keys()).hasSize(1);

            http.send(HttpMethod.PATCH, first.managementPort(), "/admin/environments/shared", TestGateway.ADMIN,
                    new JsonObject().put("rateLimitPerSecond", 42));
            Await.until(() -> cache.get("shared").orElseThrow().environment().rateLimitPerSecond() == 42.0, 1); // within a second (the fallback refresh is 30 s)

            http.post(first.managementPort(), "/admin/environments/shared/keys/rotate", TestGateway.ADMIN, null);
            Await.until(() -> cache.get("shared").orElseThrow().keys().size() == 2, 1); // within a second (the fallback refresh is 30 s)

            http.send(HttpMethod.DELETE, first.managementPort(), "/admin/environments/shared", TestGateway.ADMIN, null);
            Await.until(() -> cache.get("shared").isEmpty(), 1); // within a second (the fallback refresh is 30 s)
        }
    }
}
