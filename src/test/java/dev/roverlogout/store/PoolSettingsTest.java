package dev.roverlogout.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;

/**
 * The session settings every connection of the gateway's pool runs with, whatever the server's or the role's
 * defaults: the plans and the durability the hot statements were written for.
 */
class PoolSettingsTest {
    @Test
    @DisplayName("the pool's connections run with durable commits, generic plans, no seq scans and no JIT compilation")
    void sessionSettings() {
        try (TestGateway gw = TestGateway.start(Map.of())) {
            Vertx vertx = Vertx.vertx();
            try {
                Pool pool = Database.pool(vertx, gw.databaseUrl(), 1, 5000);
                Map<String, String> settings = new LinkedHashMap<>();
                for (Row r : TestGateway.join(pool.query("""
                        SELECT name, setting FROM pg_settings
                         WHERE name IN ('synchronous_commit', 'plan_cache_mode', 'enable_seqscan', 'jit')
                        """).execute())) {
                    settings.put(r.getString(0), r.getString(1));
                }
                assertThat(settings).containsOnly(Map.entry("synchronous_commit", "on"),
                        Map.entry("plan_cache_mode", "force_generic_plan"), Map.entry("enable_seqscan", "off"),
                        Map.entry("jit", "off"));
            } finally {
                TestGateway.join(vertx.close());
            }
        }
    }
}
