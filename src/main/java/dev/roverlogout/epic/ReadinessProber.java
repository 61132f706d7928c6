package dev.roverlogout.epic;

import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.ThreadLocalRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Promotes PENDING environments to READY once Epic accepts their key (a token request succeeds), since a new
 * key can take hours to sync on the customer's side. Probes every {@code epic.readinessProbeInterval}, jittered
 * by ±20 % so that replicas do not probe in step; every promotion is recorded in the status history.
 */
public final class ReadinessProber {
    static final String ACTOR = "readiness-prober";
    private static final Logger log = LoggerFactory.getLogger(ReadinessProber.class);

    private final Vertx vertx;
    private final EnvironmentStore environments;
    private final TokenProvider tokens;
    private final Duration interval;
    private long timer = -1;
    private volatile boolean stopped;

    public ReadinessProber(Vertx vertx, EnvironmentStore environments, TokenProvider tokens, Duration interval) {
        this.vertx = vertx;
        this.environments = environments;
        this.tokens = tokens;
        this.interval = interval;
    }

    public void start() {
        schedule();
    }

    public void stop() {
        stopped = true;
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    private void schedule() {
        if (stopped) {
            return;
        }
        long base = interval.toMillis();
        long jitter = (long) (base * 0.2 * (ThreadLocalRandom.current().nextDouble() * 2 - 1));
        timer = vertx.setTimer(Math.max(1, base + jitter), id -> probeAll().onComplete(x -> schedule()));
    }

    /** One round over every PENDING environment; completes when all probes are done. Never fails. */
    public Future<Void> probeAll() {
        return environments.list().compose(all -> Future.join(all.stream()
                        .filter(e -> e.status() == Environment.Status.PENDING).map(this::probe).toList()))
                .<Void>mapEmpty()
                .recover(e -> {
                    log.warn("Readiness probe round failed: {}", e.getMessage());
                    return Future.succeededFuture();
                });
    }

    private Future<Void> probe(Environment env) {
        return tokens.token(env)
                .compose(token -> environments.changeStatus(env.id(), EnumSet.of(Environment.Status.PENDING),
                        Environment.Status.READY, ACTOR, "Epic accepted the signing key (token request succeeded)"))
                .onSuccess(changed -> log.atInfo().addKeyValue("environment", env.id()).log("Environment {} is READY: Epic accepted its key", env.id()))
                .<Void>mapEmpty()
                .recover(e -> {
                    log.debug("Environment {} still PENDING: {}", env.id(), e.getMessage());
                    return Future.succeededFuture();
                });
    }
}
