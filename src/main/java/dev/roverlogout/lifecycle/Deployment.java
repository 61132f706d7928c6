package dev.roverlogout.lifecycle;

import java.util.function.Supplier;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;

/**
 * A verticle deployment as a {@link Service}: the HTTP servers, whose instances Vert.x places on its event loops.
 * Start deploys {@code instances} of them; stop undeploys them (each server shuts down gracefully).
 */
public final class Deployment<V extends VerticleBase> implements Service {
    private final String name;
    private final Vertx vertx;
    private final Supplier<V> factory;
    private final int instances;
    private volatile V last;
    private volatile String deploymentId;

    public Deployment(String name, Vertx vertx, Supplier<V> factory, int instances) {
        this.name = name;
        this.vertx = vertx;
        this.factory = factory;
        this.instances = instances;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Future<Void> start() {
        return vertx.deployVerticle(() -> {
            V v = factory.get();
            last = v;
            return v;
        }, new DeploymentOptions().setInstances(instances)).map(id -> {
            deploymentId = id;
            return null;
        });
    }

    @Override
    public Future<Void> stop() {
        String id = deploymentId;
        deploymentId = null;
        return id == null ? Future.succeededFuture() : vertx.undeploy(id);
    }

    /** One of the deployed instances (they are all alike); null before start. */
    public V instance() {
        return last;
    }
}
