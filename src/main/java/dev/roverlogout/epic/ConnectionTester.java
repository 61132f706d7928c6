package dev.roverlogout.epic;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import dev.roverlogout.store.Environment;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.ext.web.client.WebClient;

/**
 * {@code POST /admin/environments/{id}/test-connection}: the steps a hospital admin needs to see, each
 * {@code ok}, {@code failed} or {@code skipped} with a message they can act on — {@code dns} (the host resolves),
 * {@code tls} (certificate valid, days left; verified like every Epic call), {@code http} (Interconnect answers at
 * all), {@code token} (Epic accepts our key). A failed step skips the ones that depend on it. Bounded time.
 */
public final class ConnectionTester {
    /** Per-step budgets: dns + tls + http + token stay within 10 s, the bound an admin waits for. */
    static final long DNS_MILLIS = 2_000;
    static final long TLS_MILLIS = 2_500;
    static final long HTTP_MILLIS = 2_500;
    static final long TOKEN_MILLIS = 3_000;

    private final Vertx vertx;
    private final WebClient client;
    private final TokenProvider tokens;
    private final String publicBaseUrl;
    private final Resolver resolver;
    private final boolean privateNetworks;

    /** The system's name resolution (blocking: called on a worker thread); tests give another resolver. */
    @FunctionalInterface
    public interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** {@code privateNetworks}: {@code epic.allowPrivateNetworks} (see {@link OutboundAddresses}). */
    public ConnectionTester(Vertx vertx, WebClient client, TokenProvider tokens, String publicBaseUrl,
                            boolean privateNetworks) {
        this(vertx, client, tokens, publicBaseUrl, InetAddress::getAllByName, privateNetworks);
    }

    public ConnectionTester(Vertx vertx, WebClient client, TokenProvider tokens, String publicBaseUrl, Resolver resolver,
                            boolean privateNetworks) {
        this.resolver = resolver;
        this.privateNetworks = privateNetworks;
        this.vertx = vertx;
        this.client = client;
        this.tokens = tokens;
        this.publicBaseUrl = publicBaseUrl;
    }

    /** Tests as the platform allows ({@code epic.allowPrivateNetworks}); see {@link #test(Environment, boolean)}. */
    public Future<JsonObject> test(Environment env) {
        return test(env, privateNetworks);
    }

    /**
     * Step by step: dns, tls, http, token. {@code privateAllowed}: whether the dns step accepts loopback and private
     * addresses (the platform allows them and the person asking is a platform administrator).
     */
    public Future<JsonObject> test(Environment env, boolean privateAllowed) {
        URI uri = URI.create(env.interconnectUrl());
        String host = uri.getHost();
        boolean https = "https".equals(uri.getScheme());
        int port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
        JsonArray steps = new JsonArray();
        return dns(host, privateAllowed).compose(dns -> {
            steps.add(dns);
            if (!ok(dns)) {
                steps.add(skipped("tls")).add(skipped("http")).add(skipped("token"));
                return Future.succeededFuture();
            }
            Future<JsonObject> tls = https ? tls(host, port)
                    : Future.succeededFuture(step("tls", "skipped", "plain http (allowInsecure): no TLS to check"));
            return tls.compose(t -> {
                steps.add(t);
                if ("failed".equals(t.getString("status"))) {
                    steps.add(skipped("http")).add(skipped("token"));
                    return Future.succeededFuture();
                }
                return http(env).compose(h -> {
                    steps.add(h);
                    if (!ok(h)) {
                        steps.add(skipped("token"));
                        return Future.succeededFuture();
                    }
                    return token(env).map(steps::add).mapEmpty();
                });
            });
        }).map(v -> new JsonObject().put("environmentId", env.id())
                .put("ok", steps.stream().allMatch(s -> !"failed".equals(((JsonObject) s).getString("status"))))
                .put("steps", steps));
    }

    /**
     * Why the gateway may not call {@code host} once resolved (an address {@link OutboundAddresses} refuses), or
     * null: for validating a URL's name when an admin sets it. A name that does not resolve (yet) is not refused here;
     * test-connection's dns step reports it.
     */
    public Future<String> refusedName(String host, boolean privateAllowed) {
        if (OutboundAddresses.isLiteral(host)) {
            return Future.succeededFuture(null); // judged without DNS by the validator
        }
        return vertx.executeBlocking(() -> {
            try {
                for (InetAddress a : resolver.resolve(host)) {
                    String why = OutboundAddresses.refusedAddress(a, privateAllowed);
                    if (why != null) {
                        return "host " + host + " resolves to " + a.getHostAddress() + ", which " + why;
                    }
                }
                return null;
            } catch (UnknownHostException e) {
                return null;
            }
        }, false).timeout(DNS_MILLIS, TimeUnit.MILLISECONDS).otherwise((String) null);
    }

    /** Whether the platform allows private networks at all ({@code epic.allowPrivateNetworks}). */
    public boolean privateNetworks() {
        return privateNetworks;
    }

    private Future<JsonObject> dns(String host, boolean privateAllowed) {
        return vertx.executeBlocking(() -> {
            try {
                InetAddress[] all = resolver.resolve(host);
                for (InetAddress a : all) {
                    // a name an admin may register (a hospital's DNS) that points at a metadata service: no request
                    // is sent (the steps after dns are skipped)
                    String why = OutboundAddresses.refusedAddress(a, privateAllowed);
                    if (why != null) {
                        return step("dns", "failed", host + " resolves to " + a.getHostAddress() + ", which " + why
                                + ": refused, no request was sent");
                    }
                }
                return step("dns", "ok", host + " resolves to " + Arrays.stream(all).map(InetAddress::getHostAddress)
                        .limit(4).collect(Collectors.joining(", ")));
            } catch (UnknownHostException e) {
                return step("dns", "failed", "cannot resolve " + host + ": check the interconnectUrl and this network's DNS");
            }
        }).timeout(DNS_MILLIS, TimeUnit.MILLISECONDS)
                .recover(e -> Future.succeededFuture(step("dns", "failed", "resolving " + host + " took too long")));
    }

    private Future<JsonObject> tls(String host, int port) {
        NetClient net = vertx.createNetClient(new NetClientOptions().setConnectTimeout((int) TLS_MILLIS));
        ClientSSLOptions ssl = new ClientSSLOptions().setHostnameVerificationAlgorithm("HTTPS");
        return net.connect(port, host, host).compose(socket -> socket.upgradeToSsl(ssl).map(v -> {
            try {
                X509Certificate cert = (X509Certificate) socket.peerCertificates().get(0);
                long days = Duration.between(Instant.now(), cert.getNotAfter().toInstant()).toDays();
                return step("tls", days < 14 ? "failed" : "ok", "certificate for " + host + " is valid, expires in "
                        + days + " days" + (days < 14 ? ": renew it before Epic calls start failing" : ""))
                        .put("daysLeft", days);
            } catch (Exception e) {
                return step("tls", "failed", "no peer certificate from " + host);
            } finally {
                socket.close();
            }
        })).timeout(TLS_MILLIS, TimeUnit.MILLISECONDS)
                .recover(e -> Future.succeededFuture(step("tls", "failed", "TLS to " + host + ":" + port
                        + " failed (" + rootMessage(e) + "): the certificate must be valid and trusted, "
                        + "from a public CA or one this gateway trusts")))
                .onComplete(x -> net.close());
    }

    private Future<JsonObject> http(Environment env) {
        String url = TokenProvider.baseUrl(env) + "/";
        return client.getAbs(url).timeout(HTTP_MILLIS).send()
                .map(r -> step("http", "ok", "Interconnect answered " + r.statusCode() + " at " + url))
                .recover(e -> Future.succeededFuture(step("http", "failed", "no HTTP answer from " + url + " ("
                        + rootMessage(e) + "): check the interconnectUrl, instance and firewall")));
    }

    private Future<JsonObject> token(Environment env) {
        return tokens.token(env).timeout(TOKEN_MILLIS, TimeUnit.MILLISECONDS)
                .map(t -> step("token", "ok", "Epic accepted our key and issued an access token"))
                .recover(e -> {
                    String message = e.getMessage();
                    if (message != null && message.contains("invalid_client")) {
                        message += ". Epic does not accept our key (yet): a new key can take up to 12 hours to sync, "
                                + "or the client ID is wrong. Register this JWK Set URL with the app: "
                                + publicBaseUrl + "/jwks/" + env.id() + ".json";
                    }
                    return Future.succeededFuture(step("token", "failed", message));
                });
    }

    private static boolean ok(JsonObject step) {
        return "ok".equals(step.getString("status"));
    }

    private static JsonObject skipped(String name) {
        return step(name, "skipped", "an earlier step failed");
    }

    private static JsonObject step(String name, String status, String message) {
        return new JsonObject().put("step", name).put("status", status).put("message", message);
    }

    private static String rootMessage(Throwable e) {
        return EpicOutcome.transportText(e);
    }
}
