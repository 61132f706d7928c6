package dev.roverlogout.lifecycle;

import io.vertx.core.Future;

/**
 * The one shape of every long-lived part of the gateway (after river's {@code startstop.BaseStartStop}): the ingest
 * committer, the lane supervisor, the background jobs, the notification hub, the HTTP servers. Each is given the
 * Vert.x context it runs on when it is built; {@code Gateway} starts them in order and stops them in reverse.
 *
 * <p>Who calls what: {@link #start} once, from any thread; {@link #stop} once, from any thread, also when
 * {@code start} failed or never ran (it then completes at once). Neither future ever fails for a service's own
 * trouble after start: a stop that goes wrong is logged and completes.
 */
public interface Service {
    /** What it does, in a few words, for logs: "ingest committer", "retention cleaner". */
    String name();

    /** Completes when the service is running (its first round done, where that matters to readiness). */
    Future<Void> start();

    /** Completes when the service's work is finished or handed back (a lane's calls answered, a batch committed). */
    Future<Void> stop();

    /**
     * Two services as one: {@code first} starts before {@code second}, and both stop at the same time (for a server
     * and the part that answers its in-flight requests, which must hurry up while the server waits for them).
     */
    static Service together(String name, Service first, Service second) {
        return new Service() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Future<Void> start() {
                return first.start().compose(x -> second.start());
            }

            @Override
            public Future<Void> stop() {
                return Future.join(first.stop(), second.stop()).mapEmpty();
            }
        };
    }
}
