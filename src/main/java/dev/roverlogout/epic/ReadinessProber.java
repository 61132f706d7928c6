package dev.roverlogout.epic;

import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.ThreadLocalRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentStore;
import dev.roverlogout.lifecycle.PeriodicService;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Promotes PENDING environments to READY once Epic accepts their key (a token request succeeds), since a new
 * key can take hours to sync on the customer's side. Probes every {@code epic.readinessProbeInterval}, jittered
 * by ±20 % so that replicas do not probe in step; every promotion is recorded in the status history.
 */
public final class ReadinessProber extends PeriodicService {
    static final String ACTOR = "readiness-prober";
    private static final Logger log = LoggerFactory.getLogger(ReadinessProber.class);

    private final EnvironmentStore environments;
    private final TokenProvider tokens;
    private final Duration interval;

    public ReadinessProber(Vertx vertx, Context context, EnvironmentStore environments, TokenProvider tokens, Duration interval) {
        super(vertx, context, false);
        this.environments = environments;
        this.tokens = tokens;
        this.interval = interval;
    }

    @Override
    public String name() {
        return "readiness prober";
    }

    @Override
    protected Duration delay() {
        long base = interval.toMillis();
        return Duration.ofMillis(base + (long) (base * 0.2 * (ThreadLocalRandom.current().nextDouble() * 2 - 1)));
    }

    @Override
    protected Future<Void> runOnce() {
        return probeAll();
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
