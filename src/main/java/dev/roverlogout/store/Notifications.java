package dev.roverlogout.store;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.lifecycle.Service;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.pubsub.PgSubscriber;

/**
 * The gateway's one LISTEN connection to PostgreSQL (the notification hub): environment changes
 * ({@code rlg_environment_changed}), new jobs ({@code rlg_jobs_queued}) and fenced jobs ({@code rlg_jobs_fenced}),
 * each delivered to its listeners on the listener's own context. NOTIFY is delivered on commit; after a reconnect
 * every listener's {@code onSubscribed} runs, because notifications sent meanwhile are lost.
 *
 * <p>Who calls what: listeners register with {@link #listen} before or after {@link #start}; the connection is
 * re-established with backoff (up to 30 s) when it drops. If the first connect fails the gateway still starts:
 * every listener has a periodic fallback (the environment cache's full refresh, the lanes' poll).
 */
public final class Notifications implements Service {
    private static final Logger log = LoggerFactory.getLogger(Notifications.class);

    private record Listener(Context context, Handler<String> onNotification, Runnable onSubscribed) {
    }

    private final Context context;
    private final PgSubscriber subscriber;
    private final Map<String, List<Listener>> listeners = new ConcurrentHashMap<>();

    public Notifications(Vertx vertx, Context context, String databaseUrl) {
        this.context = context;
        this.subscriber = PgSubscriber.subscriber(vertx, PgConnectOptions.fromUri(databaseUrl))
                .reconnectPolicy(attempt -> Math.min(30_000L, 500L * (1L << Math.min(attempt, 6))));
    }

    @Override
    public String name() {
        return "notification hub";
    }

    /**
     * Delivers every payload of {@code channel} to {@code onNotification} on {@code target}; {@code onSubscribed}
     * (may be null) runs on {@code target} whenever the channel is (re)subscribed.
     */
    public void listen(String channel, Context target, Handler<String> onNotification, Runnable onSubscribed) {
        Listener listener = new Listener(target, onNotification, onSubscribed);
        boolean first = listeners.computeIfAbsent(channel, c -> new CopyOnWriteArrayList<>()).isEmpty();
        listeners.get(channel).add(listener);
        if (first) {
            context.runOnContext(v -> subscriber.channel(channel)
                    .handler(payload -> listeners.get(channel).forEach(l -> l.context().runOnContext(x -> l.onNotification().handle(payload))))
                    .subscribeHandler(x -> listeners.get(channel).forEach(l -> {
                        if (l.onSubscribed() != null) {
                            l.context().runOnContext(y -> l.onSubscribed().run());
                        }
                    })));
        }
    }

    @Override
    public Future<Void> start() {
        io.vertx.core.Promise<Void> connected = io.vertx.core.Promise.promise();
        context.runOnContext(v -> subscriber.connect().onComplete(ar -> {
            if (ar.failed()) {
                log.warn("Cannot LISTEN for notifications ({}); relying on the periodic refreshes", ar.cause().getMessage());
            }
            connected.complete();
        }));
        return connected.future();
    }

    @Override
    public Future<Void> stop() {
        io.vertx.core.Promise<Void> closed = io.vertx.core.Promise.promise();
        context.runOnContext(v -> subscriber.close().onComplete(x -> closed.complete()));
        return closed.future();
    }
}
