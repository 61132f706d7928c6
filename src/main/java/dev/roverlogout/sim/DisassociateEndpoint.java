package dev.roverlogout.sim;

import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code POST /{instance}/...DisassociateMobileDevice}: checks the bearer token and the Epic-Client-ID, applies the
 * instance's faults (outage, rate limit, rejected and unknown devices, hangs, latency, errors) and records the call.
 */
final class DisassociateEndpoint {
    private final Vertx vertx;
    private final Map<String, SimInstance> instances;

    DisassociateEndpoint(Vertx vertx, Map<String, SimInstance> instances) {
        this.vertx = vertx;
        this.instances = instances;
    }

    void handle(RoutingContext ctx) {
        SimInstance i = instances.get(ctx.pathParam("instance"));
        if (i == null || !ctx.request().path().endsWith("DisassociateMobileDevice")) {
            EpicSimulator.json(ctx, 404, new JsonObject().put("Message", "No HTTP resource was found that matches the request URI"));
            return;
        }
        if (!authorized(ctx, i)) {
            return;
        }
        long arrivedAt = System.currentTimeMillis();
        i.recordArrival(arrivedAt);
        trackInFlight(ctx, i);
        if (refusedByFault(ctx, i, arrivedAt / 1000)) {
            return;
        }
        String device = deviceToDisassociate(ctx, i);
        if (device != null) {
            answer(ctx, i, device, arrivedAt);
        }
    }

    /** A valid bearer token of this instance and its client id; answers 401 or 400 otherwise. */
    private static boolean authorized(RoutingContext ctx, SimInstance i) {
        String auth = ctx.request().getHeader("Authorization");
        Long expiry = auth != null && auth.startsWith("Bearer ") ? i.tokens.get(auth.substring(7)) : null;
        if (expiry == null || expiry < System.currentTimeMillis()) {
            i.unauthorized.incrementAndGet();
            EpicSimulator.json(ctx, 401, new JsonObject().put("Message", "Authorization has been denied for this request."));
            return false;
        }
        if (!i.clientId.equals(ctx.request().getHeader("Epic-Client-ID"))) {
            EpicSimulator.json(ctx, 400, new JsonObject().put("Message", "The request is invalid.")
                    .put("ExceptionMessage", "Epic-Client-ID header missing or not this client"));
            return false;
        }
        return true;
    }

    /** Counts the request in flight until it is answered or abandoned, whichever comes first. */
    private static void trackInFlight(RoutingContext ctx, SimInstance i) {
        i.enter();
        AtomicBoolean left = new AtomicBoolean();
        Runnable leave = () -> {
            if (left.compareAndSet(false, true)) {
                i.leave();
            }
        };
        ctx.response().endHandler(v -> leave.run());
        ctx.response().closeHandler(v -> leave.run()); // a hung call ends when the caller gives up and closes
    }

    /** An outage (503) or the rate limit of {@code second} exceeded (429): answered, true. */
    private static boolean refusedByFault(RoutingContext ctx, SimInstance i, long second) {
        if (i.inOutage()) {
            i.injectedErrors.incrementAndGet();
            ctx.response().putHeader("Retry-After", "1");
            EpicSimulator.json(ctx, 503, new JsonObject().put("Message", "Service Unavailable"));
            return true;
        }
        if (i.rateLimitPerSecond > 0) {
            if (i.windowSecond != second) {
                i.windowSecond = second;
                i.windowCount = 0;
            }
            if (++i.windowCount > i.rateLimitPerSecond) {
                i.rateLimited.incrementAndGet();
                ctx.response().putHeader("Retry-After", "1");
                EpicSimulator.json(ctx, 429, new JsonObject().put("Message", "Too many requests"));
                return true;
            }
        }
        return false;
    }

    /** The InstallID to disassociate, or null when the request is refused as Epic would (400, 404). */
    private static String deviceToDisassociate(RoutingContext ctx, SimInstance i) {
        JsonObject body = ctx.body().asJsonObject();
        String device = body == null ? null : body.getString("InstallID");
        if (device == null || device.isBlank()) {
            EpicSimulator.json(ctx, 400, new JsonObject().put("Message", "The request is invalid.")
                    .put("ExceptionMessage", "InstallID is required"));
            return null;
        }
        if (i.rejectDevices.contains(device)) {
            EpicSimulator.json(ctx, 400, new JsonObject().put("Message", "The request is invalid.")
                    .put("ExceptionMessage", "Device " + device + " cannot be disassociated"));
            return null;
        }
        if (i.unknownDevices.contains(device)) {
            EpicSimulator.json(ctx, 404, new JsonObject().put("Message", "No mobile device was found with the given InstallID."));
            return null;
        }
        return device;
    }

    /** Never, or after the instance's latency (plus its tail): an injected error or the recorded call. */
    private void answer(RoutingContext ctx, SimInstance i, String device, long arrivedAt) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        if (i.hangRate > 0 && random.nextDouble() < i.hangRate) {
            i.hung.incrementAndGet(); // never answered: the caller's request timeout has to fire
            return;
        }
        long delay = i.latencyMillis + (i.tailRate > 0 && random.nextDouble() < i.tailRate ? i.tailLatencyMillis : 0);
        Runnable answer = () -> {
            if (i.errorRate > 0 && ThreadLocalRandom.current().nextDouble() < i.errorRate) {
                i.injectedErrors.incrementAndGet();
                EpicSimulator.json(ctx, 503, new JsonObject().put("Message", "An error has occurred.").put("ExceptionMessage", "injected"));
                return;
            }
            i.recordCall(device, arrivedAt, ctx.request().getHeader("X-Request-ID")); // counted at arrival, as Epic's rate limit counts
            EpicSimulator.json(ctx, 200, new JsonObject().put("Success", true));
        };
        if (delay > 0) {
            vertx.setTimer(delay, t -> answer.run());
        } else {
            answer.run();
        }
    }
}
