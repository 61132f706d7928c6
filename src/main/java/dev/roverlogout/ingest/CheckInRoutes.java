package dev.roverlogout.ingest;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;

import dev.roverlogout.store.CheckInEvent;
import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.http.Problem;
import dev.roverlogout.http.Problems;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.EnvironmentDirectory;
import dev.roverlogout.store.EventStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.PlatformHandler;

/**
 * {@code POST /v1/checkins} (contract §4): validate, check the backlog, group-commit, answer 202 after commit. Turns
 * the committer's domain errors into problem details (and {@code rlg_ingest_rejected_total}).
 */
public final class CheckInRoutes implements RouteMount {
    public static final int MAX_BODY_BYTES = 1024 * 1024;
    private static final String REQUEST_ID_KEY = "requestId";

    private final GroupCommitter committer;
    private final EnvironmentDirectory environments;
    private final LongSupplier backlog;
    private final IngestAuth auth;
    private final IngestCredentials credentials;
    private final GatewayMetrics metrics;
    private final GatewayConfig.Ingest config;
    private final RefusalLog refusals = new RefusalLog();

    /** @param backlog queued jobs across all environments, as far as this replica knows (compared with ingest.maxBacklog) */
    public CheckInRoutes(GroupCommitter committer, EnvironmentDirectory environments, LongSupplier backlog,
                         BearerAuth tokens, IngestCredentials credentials, GatewayMetrics metrics, GatewayConfig.Ingest config) {
        this.committer = committer;
        this.environments = environments;
        this.backlog = backlog;
        this.auth = new IngestAuth(tokens, credentials);
        this.credentials = credentials;
        this.metrics = metrics;
        this.config = config;
    }

    @Override
    public void mount(Router router) {
        router.post("/v1/checkins")
                .handler((PlatformHandler) ctx -> { // first, so that refusals (401, 413, ...) carry it too
                    ctx.put(REQUEST_ID_KEY, requestId(ctx));
                    metrics.ingestRequest(); // every ingest request: the denominator of the refusal ratio alert
                    ctx.next();
                })
                .handler(auth)
                .handler((PlatformHandler) CheckInRoutes::requireJson)
                .handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES))
                .respond(this::ingest)
                .failureHandler(this::rejected);
    }

    static void requireJson(RoutingContext ctx) {
        String type = ctx.request().getHeader("Content-Type");
        String media = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
        if (media.equals("application/json") || media.startsWith("application/") && media.endsWith("+json")) {
            ctx.next();
        } else {
            ctx.fail(Problems.unsupportedMediaType());
        }
    }

    private Future<JsonObject> ingest(RoutingContext ctx) {
        String requestId = ctx.get(REQUEST_ID_KEY);
        IngestCredentials.Credential credential = ctx.get(IngestAuth.CREDENTIAL_KEY);
        List<CheckInEvent> events = CheckInValidator.parse(ctx.body().buffer(), requestId);
        IngestRateLimit rateLimit = credential.rateLimit();
        long retryAfter = rateLimit.tryTake(events.size(), System.nanoTime());
        if (retryAfter > 0) {
            String limit = credential == credentials.staticToken() ? "this token is over ingest.rateLimitPerSecond"
                    : "this credential is over its rateLimitPerSecond";
            throw new Problem(429, "rate-limited", "Too many requests", limit + " (" + credential.rateLimitPerSecond()
                    + " events/s on this replica); nothing was stored, retry after " + retryAfter + " s")
                    .header("Retry-After", Long.toString(retryAfter));
        }
        Set<String> ids = new LinkedHashSet<>();
        events.forEach(e -> ids.add(e.environmentId()));
        return environments.unknown(ids).recover(e -> Future.failedFuture(e instanceof Problem ? e
                : Problem.unavailable("the database is unavailable; nothing was stored, retry later",
                        config.retryAfter().toSeconds()))).compose(unknown -> {
            if (!unknown.isEmpty()) {
                return Future.failedFuture(unknownEnvironments(events, unknown));
            }
            Problem outOfScope = outOfScope(events, credential);
            if (outOfScope != null) {
                return Future.failedFuture(outOfScope);
            }
            long queued = backlog.getAsLong();
            if (queued > config.maxBacklog()) {
                return Future.failedFuture(Problem.unavailable("the queued backlog (" + queued
                        + " jobs) is over ingest.maxBacklog; nothing was stored, retry later", config.retryAfter().toSeconds())
                        .with("reason", "backlog"));
            }
            return committer.submit(events).recover(e -> Future.failedFuture(problem(e, events)));
        }).onFailure(e -> {
            if (e instanceof Problem p && (p.status() == 403 || p.status() == 422 || p.status() == 503)) {
                rateLimit.refund(events.size()); // nothing stored and little done: lockers' retries must not pay
            }
        }).map(results -> {
            ctx.response().setStatusCode(202);
            return toJson(results);
        });
    }

    /**
     * 403 naming every event whose environment is not in the credential's scope (another tenant's, or not among the
     * credential's environments); null when all are in scope. Nothing of such a request is stored.
     */
    private Problem outOfScope(List<CheckInEvent> events, IngestCredentials.Credential credential) {
        List<Problem.FieldError> errors = new ArrayList<>();
        boolean batch = events.size() > 1;
        for (int i = 0; i < events.size(); i++) {
            String env = events.get(i).environmentId();
            if (!credential.allows(env, environments.tenantOf(env).orElse(null))) {
                errors.add(new Problem.FieldError(batch ? i : null, "environmentId",
                        "environment '" + env + "' is not in this token's scope"));
            }
        }
        return errors.isEmpty() ? null : new Problem(403, "out-of-scope", "Forbidden", errors.size()
                + " events are for environments this token may not post to; nothing was stored").errors(errors);
    }

    private static JsonObject toJson(List<GroupCommitter.Result> results) {
        JsonArray items = new JsonArray();
        int accepted = 0;
        for (GroupCommitter.Result r : results) {
            if (r.status().equals("accepted")) {
                accepted++;
            }
            items.add(new JsonObject().put("eventId", r.event().eventId()).put("status", r.status()).put("outcome", r.outcome()));
        }
        return new JsonObject().put("accepted", accepted).put("duplicates", results.size() - accepted).put("results", items);
    }

    /** What the committer's refusal means to the locker. */
    private Problem problem(Throwable e, List<CheckInEvent> events) {
        if (e instanceof EventStore.MissingEnvironments missing) { // deleted while the request waited for its commit
            return unknownEnvironments(events, missing.ids());
        }
        if (!(e instanceof IngestRefused r) || !r.reason().retryable) {
            return new Problem(500, "internal", "Internal error", "storing the events failed; nothing was stored");
        }
        return Problem.unavailable(r.getMessage(), r.reason() == IngestRefused.Reason.SHUTTING_DOWN ? 1
                : config.retryAfter().toSeconds());
    }

    /** 422 naming every event whose environmentId is not a configured environment. */
    static Problem unknownEnvironments(List<CheckInEvent> events, Set<String> unknown) {
        List<Problem.FieldError> errors = new ArrayList<>();
        boolean batch = events.size() > 1;
        for (int i = 0; i < events.size(); i++) {
            if (unknown.contains(events.get(i).environmentId())) {
                errors.add(new Problem.FieldError(batch ? i : null, "environmentId",
                        "unknown environment '" + events.get(i).environmentId() + "'"));
            }
        }
        return new Problem(422, "unknown-environment", "Unknown environment",
                "no Epic environment with id " + String.join(", ", unknown) + "; nothing was stored").errors(errors);
    }

    private static String requestId(RoutingContext ctx) {
        return dev.roverlogout.http.RequestIds.assign(ctx);
    }

    private void rejected(RoutingContext ctx) {
        String reason = reason(ctx);
        metrics.ingestRejected(reason);
        if (ctx.failure() instanceof Problem p) {
            // a line per refused request (sampled per reason), keyed by its request id: the locker's team can find
            // why; never the body or the Authorization header
            refusals.refused(ctx.get(REQUEST_ID_KEY), reason, p, System.nanoTime());
        }
        Problems.handle(ctx);
    }

    private static String reason(RoutingContext ctx) {
        if (ctx.failure() instanceof Problem p) {
            return switch (p.status()) {
                case 400 -> "invalid";
                case 401 -> "unauthorized";
                case 403 -> "forbidden";
                case 413 -> "too_large";
                case 415 -> "unsupported_media_type";
                case 422 -> "unknown_environment";
                case 429 -> "rate_limited";
                case 503 -> "backlog".equals(p.extension("reason")) ? "backlog" : "unavailable";
                default -> "error";
            };
        }
        return ctx.statusCode() == 413 ? "too_large" : "error";
    }
}
