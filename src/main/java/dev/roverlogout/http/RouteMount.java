package dev.roverlogout.http;

import io.vertx.ext.web.Router;

/**
 * Routes that a server mounts without knowing them: the servers of this package take a list of these, built by
 * {@code Components} from the ingest, Epic and admin packages, so that {@code http} depends on none of them.
 * {@link #mount} runs once per server instance, on that instance's event loop.
 */
@FunctionalInterface
public interface RouteMount {
    void mount(Router router);
}
