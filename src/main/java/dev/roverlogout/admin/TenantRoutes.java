package dev.roverlogout.admin;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import dev.roverlogout.auth.Principal;
import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.http.Problem;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.store.CredentialStore;
import dev.roverlogout.store.EnvironmentStore;
import dev.roverlogout.store.TenantStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Tenants and their ingest credentials (contract §8): {@code /admin/tenants[/{id}]} and
 * {@code /admin/tenants/{id}/credentials[/{credentialId}]}. A credential's secret ({@code rlg_} and 256 random bits,
 * base64url) is in the answer to its creation and nowhere else, ever: the database keeps its SHA-256 digest.
 */
public final class TenantRoutes implements RouteMount {
    /** Recognisable by secret scanners: {@code rlg_} followed by 43 base64url characters. */
    public static final String SECRET_PREFIX = "rlg_";
    private static final Pattern CREDENTIAL_ID = Pattern.compile("cred_[A-Za-z0-9]{10,40}");
    private static final int MAX_SCOPE = 1000;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final TenantStore tenants;
    private final CredentialStore credentials;
    private final EnvironmentStore environments;
    private final int defaultRateLimit;
    private final java.util.function.Supplier<Future<Void>> credentialsChanged;
    private final Audit audit;

    /**
     * @param defaultRateLimit   a credential's rate limit when none is given: ingest.rateLimitPerSecond
     * @param credentialsChanged makes this replica's ingest read the credentials now (after a create or revoke, before
     *                           the answer: the credential works, or is refused, here at once)
     */
    public TenantRoutes(TenantStore tenants, CredentialStore credentials, EnvironmentStore environments, int defaultRateLimit,
                        java.util.function.Supplier<Future<Void>> credentialsChanged, Audit audit) {
        this.audit = audit;
        this.tenants = tenants;
        this.credentials = credentials;
        this.environments = environments;
        this.defaultRateLimit = defaultRateLimit;
        this.credentialsChanged = credentialsChanged;
    }

    /** Mounts on a router whose requests are already authenticated as admin and whose bodies are read. */
    @Override
    public void mount(Router router) {
        router.post("/admin/tenants").respond(audit.of("tenant.create", this::create));
        router.get("/admin/tenants").respond(ctx -> tenants.list().map(all -> {
            Principal who = Principal.of(ctx);
            JsonArray a = new JsonArray();
            all.stream().filter(t -> who.sees(t.id())).forEach(t -> a.add(t.toJson()));
            return new JsonObject().put("tenants", a);
        }));
        router.get("/admin/tenants/:id").respond(ctx -> tenant(ctx).map(TenantStore.Tenant::toJson));
        router.patch("/admin/tenants/:id").respond(audit.of("tenant.update", this::rename));
        router.delete("/admin/tenants/:id").respond(audit.of("tenant.delete", this::delete));
        router.post("/admin/tenants/:id/credentials").respond(audit.of("credential.create", this::createCredential));
        router.get("/admin/tenants/:id/credentials").respond(ctx -> tenant(ctx)
                .compose(t -> credentials.ofTenant(t.id())).map(all -> {
                    JsonArray a = new JsonArray();
                    all.forEach(c -> a.add(c.toJson()));
                    return new JsonObject().put("credentials", a);
                }));
        router.delete("/admin/tenants/:id/credentials/:credentialId").respond(audit.of("credential.revoke", this::revoke));
    }

    private Future<JsonObject> create(RoutingContext ctx) {
        JsonObject body = EnvironmentRoutes.jsonBody(ctx, true);
        List<Problem.FieldError> errors = new ArrayList<>();
        BodyFields.unknown(body, Set.of("id", "displayName"), errors);
        String id = BodyFields.text(body, "id", true, 64, errors);
        if (id != null && !EnvironmentValidator.ID.matcher(id).matches()) {
            errors.add(new Problem.FieldError(null, "id", "must be 1..64 characters of a-z 0-9 -"));
        }
        String name = BodyFields.text(body, "displayName", false, 200, errors);
        Audit.about(ctx, id, "tenant/" + id);
        throwIfAny(errors, "the tenant is invalid");
        return tenants.create(id, name == null ? id : name).map(created -> {
            TenantStore.Tenant t = created.orElseThrow(() -> Problem.conflict("a tenant with id '" + id + "' exists"));
            ctx.response().setStatusCode(201).putHeader("Location", "/admin/tenants/" + id);
            Audit.changes(ctx, new JsonObject().put("after", t.toJson()));
            return t.toJson();
        });
    }

    private Future<JsonObject> rename(RoutingContext ctx) {
        String id = id(ctx);
        JsonObject body = EnvironmentRoutes.jsonBody(ctx, true);
        List<Problem.FieldError> errors = new ArrayList<>();
        BodyFields.unknown(body, Set.of("displayName"), errors);
        String name = BodyFields.text(body, "displayName", true, 200, errors);
        throwIfAny(errors, "the change is invalid");
        return tenant(ctx).compose(before -> tenants.rename(id, name).map(t -> {
            JsonObject after = t.orElseThrow(() -> notFound(id)).toJson();
            Audit.changes(ctx, Audit.diff(before.toJson(), after));
            return after;
        }));
    }

    private Future<JsonObject> delete(RoutingContext ctx) {
        String id = id(ctx);
        if (id.equals(EnvironmentValidator.DEFAULT_TENANT)) {
            throw Problem.conflict("the default tenant cannot be deleted: auth.ingestToken and environments created "
                    + "without a tenantId belong to it");
        }
        return tenant(ctx).onSuccess(before -> Audit.changes(ctx, new JsonObject().put("before", before.toJson())))
                .compose(x -> tenants.delete(id)).recover(e -> Future.failedFuture(e instanceof TenantStore.TenantInUse used
                ? Problem.conflict("tenant " + id + " has " + used.environments() + " environments; delete or keep them "
                        + "first").with("environments", used.environments()) : e)).map(deleted -> {
                    if (!deleted) {
                        throw notFound(id);
                    }
                    ctx.response().setStatusCode(204);
                    return null;
                });
    }

    private Future<JsonObject> createCredential(RoutingContext ctx) {
        String tenantId = id(ctx);
        JsonObject body = EnvironmentRoutes.jsonBody(ctx, true);
        List<Problem.FieldError> errors = new ArrayList<>();
        BodyFields.unknown(body, Set.of("name", "environments", "rateLimitPerSecond"), errors);
        String name = BodyFields.text(body, "name", true, 200, errors);
        List<String> scope = scope(body, errors);
        Object rate = body.getValue("rateLimitPerSecond");
        if (rate != null && !((rate instanceof Integer || rate instanceof Long) && ((Number) rate).longValue() >= 0
                && ((Number) rate).longValue() <= 10_000_000)) {
            errors.add(new Problem.FieldError(null, "rateLimitPerSecond", "must be a whole number in 0..10000000 (0 = no limit)"));
        }
        throwIfAny(errors, "the credential is invalid");
        int rateLimit = rate == null ? defaultRateLimit : ((Number) rate).intValue();
        return tenant(ctx).compose(t -> environments.list()).compose(all -> {
            List<Problem.FieldError> outside = new ArrayList<>();
            Set<String> own = new LinkedHashSet<>();
            all.stream().filter(e -> e.tenantId().equals(tenantId)).forEach(e -> own.add(e.id()));
            for (int i = 0; scope != null && i < scope.size(); i++) {
                if (!own.contains(scope.get(i))) {
                    outside.add(new Problem.FieldError(i, "environments", "tenant " + tenantId + " has no environment '"
                            + scope.get(i) + "'"));
                }
            }
            throwIfAny(outside, "the credential's environments must be environments of its tenant");
            byte[] random = new byte[32];
            RANDOM.nextBytes(random);
            String secret = SECRET_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            return credentials.create(newId(), tenantId, name, secret.substring(0, 12), BearerAuth.sha256(secret), scope,
                    rateLimit).compose(c -> credentialsChanged.get().recover(e -> Future.succeededFuture()).map(c)).map(c -> {
                        ctx.response().setStatusCode(201)
                                .putHeader("Location", "/admin/tenants/" + tenantId + "/credentials/" + c.id())
                                .putHeader("Cache-Control", "no-store");
                        Audit.about(ctx, tenantId, "tenant/" + tenantId + "/credentials/" + c.id());
                        Audit.changes(ctx, new JsonObject().put("after", c.toJson())); // the view without the secret
                        return c.toJson().put("secret", secret);
                    });
        });
    }

    private Future<JsonObject> revoke(RoutingContext ctx) {
        String tenantId = id(ctx);
        String credentialId = ctx.pathParam("credentialId");
        if (credentialId == null || !CREDENTIAL_ID.matcher(credentialId).matches()) {
            throw Problem.notFound("no such credential");
        }
        return tenant(ctx).compose(t -> credentials.revoke(tenantId, credentialId))
                .compose(c -> credentialsChanged.get().recover(e -> Future.succeededFuture()).map(c))
                .map(c -> {
                    JsonObject json = c.orElseThrow(() -> Problem.notFound("tenant " + tenantId + " has no credential '"
                            + credentialId + "'")).toJson();
                    Audit.about(ctx, tenantId, "tenant/" + tenantId + "/credentials/" + credentialId);
                    Audit.changes(ctx, new JsonObject().put("revokedAt", json.getValue("revokedAt")).put("name", json.getValue("name")));
                    return json;
                });
    }

    /** The optional {@code environments} list: 1..1000 distinct environment ids; null = all of the tenant's. */
    private static List<String> scope(JsonObject body, List<Problem.FieldError> errors) {
        if (!body.containsKey("environments") || body.getValue("environments") == null) {
            return null;
        }
        if (!(body.getValue("environments") instanceof JsonArray a) || a.isEmpty() || a.size() > MAX_SCOPE) {
            errors.add(new Problem.FieldError(null, "environments", "must be a list of 1 to " + MAX_SCOPE
                    + " environment ids (leave it out for all of the tenant's environments)"));
            return null;
        }
        Set<String> ids = new LinkedHashSet<>();
        for (int i = 0; i < a.size(); i++) {
            if (a.getValue(i) instanceof String s && EnvironmentValidator.ID.matcher(s).matches()) {
                ids.add(s);
            } else {
                errors.add(new Problem.FieldError(i, "environments", "must be an environment id ([a-z0-9-]{1,64})"));
            }
        }
        return List.copyOf(ids);
    }

    private Future<TenantStore.Tenant> tenant(RoutingContext ctx) {
        String id = id(ctx);
        return tenants.get(id).map(t -> t.orElseThrow(() -> notFound(id)));
    }

    /** The {@code :id} path parameter; one no tenant can have is a 404 without a database query. */
    private static String id(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        if (id == null || !EnvironmentValidator.ID.matcher(id).matches()) {
            throw notFound(id == null ? "" : id.replace('\u0000', '?'));
        }
        return id;
    }

    static Problem notFound(String id) {
        return Problem.notFound("no tenant with id '" + id + "'");
    }

    private static String newId() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder id = new StringBuilder("cred_");
        for (int i = 0; i < 20; i++) {
            id.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return id.toString();
    }

    private static void throwIfAny(List<Problem.FieldError> errors, String detail) {
        if (!errors.isEmpty()) {
            throw Problem.validation(errors.size() == 1 ? errors.get(0).field() + " " + errors.get(0).message() : detail, errors);
        }
    }
}
