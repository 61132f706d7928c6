package dev.roverlogout.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/** Ordered start, reverse stop, and a stop that hangs does not keep the ones before it from stopping. */
class ServiceLifecycleTest {
    private final Vertx vertx = Vertx.vertx();
    private final List<String> log = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        TestGateway.join(vertx.close());
    }

    /** A part that records its start and stop; {@code hangOnStop}: its stop never completes. */
    private Service part(String name, boolean failOnStart, boolean hangOnStop) {
        return new Service() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Future<Void> start() {
                log.add("start " + name);
                return failOnStart ? Future.failedFuture(name + " cannot start") : Future.succeededFuture();
            }

            @Override
            public Future<Void> stop() {
                log.add("stop " + name);
                return hangOnStop ? Promise.<Void>promise().future() : Future.succeededFuture();
            }
        };
    }

    @Test
    @DisplayName("services start in order and stop in reverse; one that hangs is left after the budget and the rest stop")
    void orderAndBudget() {
        Lifecycle lifecycle = new Lifecycle(vertx);
        TestGateway.join(lifecycle.startAll(List.of(part("pool", false, false), part("committer", false, true),
                part("server", false, false))));
        TestGateway.join(lifecycle.stopAll(300));
        assertThat(log).containsExactly("start pool", "start committer", "start server", "stop server", "stop committer",
                "stop pool");
    }

    @Test
    @DisplayName("a start that fails stops the chain; only what started is stopped")
    void failedStart() {
        Lifecycle lifecycle = new Lifecycle(vertx);
        Future<Void> started = lifecycle.startAll(List.of(part("pool", false, false), part("cache", true, false),
                part("server", false, false)));
        Boolean failed = TestGateway.join(started.transform(ar -> Future.succeededFuture(ar.failed())));
        assertThat(failed).isTrue();
        TestGateway.join(lifecycle.stopAll(1000));
        assertThat(log).containsExactly("start pool", "start cache", "stop pool");
    }
}
