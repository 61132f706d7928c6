package dev.roverlogout.config;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import io.vertx.pgclient.PgConnectOptions;

/**
 * Reads {@code conf/gateway.yaml} (or the file named with {@code --config}), applies {@code RLG_*} environment
 * overrides and validates everything into a {@link GatewayConfig}. Any problem is a {@link ConfigException}
 * naming the key; secrets never appear in its message.
 */
public final class ConfigLoader {
    public static final Path DEFAULT_FILE = Path.of("conf", "gateway.yaml");
    private static final String ENV_PREFIX = "RLG_";

    private final ConfigValues values = new ConfigValues(new HashMap<>(GatewayConfig.DEFAULTS));

    private ConfigLoader() {
    }

    /**
     * @param file     the file named with --config (must exist), or empty for the default file (may be absent)
     * @param env      the process environment (RLG_* entries are overrides)
     */
    public static GatewayConfig load(Optional<Path> file, Map<String, String> env) {
        ConfigLoader loader = new ConfigLoader();
        Path path = file.orElse(DEFAULT_FILE);
        if (Files.exists(path)) {
            loader.readYaml(path);
        } else if (file.isPresent()) {
            throw new ConfigException("--config", "file " + path + " does not exist");
        }
        loader.applyEnvironment(env);
        return loader.build();
    }

    /** The environment variable that overrides a key: {@code http.port} → {@code RLG_HTTP_PORT}. */
    public static String envName(String key) {
        return ENV_PREFIX + key.replace('.', '_').toUpperCase(java.util.Locale.ROOT);
    }

    private void readYaml(Path path) {
        Object root;
        try (Reader in = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
        } catch (IOException e) {
            throw new ConfigException("--config", "cannot read " + path + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw new ConfigException("--config", path + " is not valid YAML: " + firstLine(e.getMessage()));
        }
        if (root == null) {
            return;
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new ConfigException("--config", path + " must hold a mapping of keys");
        }
        flatten("", map);
    }

    private void flatten(String prefix, Map<?, ?> map) {
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = prefix + e.getKey();
            Object value = e.getValue();
            if (value instanceof Map<?, ?> nested) {
                flatten(key + ".", nested);
            } else if (value instanceof List<?>) {
                throw new ConfigException(key, "lists are not supported here");
            } else {
                set(key, value == null ? "" : String.valueOf(value));
            }
        }
    }

    private void set(String key, String value) {
        if (!GatewayConfig.DEFAULTS.containsKey(key)) {
            throw new ConfigException(key, "unknown key" + suggestion(key));
        }
        values.put(key, value.trim());
    }

    private void applyEnvironment(Map<String, String> env) {
        Map<String, String> byEnvName = new HashMap<>();
        GatewayConfig.DEFAULTS.keySet().forEach(k -> byEnvName.put(envName(k), k));
        new TreeMap<>(env).forEach((name, value) -> {
            if (!name.startsWith(ENV_PREFIX)) {
                return;
            }
            String key = byEnvName.get(name);
            if (key == null) {
                throw new ConfigException(name, "unknown environment override (no such configuration key)");
            }
            values.put(key, value.trim());
        });
    }

    private static String suggestion(String key) {
        String lower = key.toLowerCase(java.util.Locale.ROOT);
        return GatewayConfig.DEFAULTS.keySet().stream()
                .filter(k -> k.toLowerCase(java.util.Locale.ROOT).equals(lower))
                .findFirst().map(k -> " (did you mean " + k + "?)").orElse("");
    }

    private GatewayConfig build() {
        return new GatewayConfig(
                endpoint("http"),
                endpoint("management"),
                new GatewayConfig.Connections(values.positive("http.idleTimeout"), values.positive("http.headerTimeout"),
                        values.positive("http.bodyTimeout"), values.intIn("http.maxConnections", 0, 1_000_000)),
                new GatewayConfig.Database(databaseUrl(), values.path("database.embeddedDir"),
                        values.intIn("database.poolSize", 1, 200), values.duration("database.connectTimeout")),
                values.path("dataDir"),
                auth(),
                masterKey(),
                httpUrl("publicBaseUrl"),
                new GatewayConfig.Ingest(values.longIn("ingest.maxBacklog", 1, Long.MAX_VALUE), values.duration("ingest.retryAfter"),
                        values.positive("ingest.commitTimeout"), values.duration("ingest.groupCommit.window"),
                        values.intIn("ingest.groupCommit.maxEvents", 1, 100_000), values.intIn("ingest.groupCommit.writers", 1, 64),
                        values.intIn("ingest.rateLimitPerSecond", 0, 10_000_000)),
                new GatewayConfig.Epic(values.positive("epic.readinessProbeInterval"), values.bool("epic.allowPrivateNetworks")),
                new GatewayConfig.Keys(values.duration("keys.rotationGrace"), values.duration("keys.retireAfter")),
                new GatewayConfig.Dispatch(values.bool("dispatch.enabled"), values.positive("dispatch.leaseDuration"), values.positive("dispatch.pollInterval"),
                        values.intIn("dispatch.batchSize", 1, 10_000), values.positive("dispatch.maxAge"),
                        values.positive("dispatch.retry.base"), values.positive("dispatch.retry.cap"),
                        values.intIn("dispatch.retry.maxAttempts", 1, 1000), values.intIn("dispatch.circuit.maxFailures", 1, 10_000),
                        values.positive("dispatch.circuit.resetTimeout"), values.ratio("dispatch.circuit.failureRatio"),
                        values.intIn("dispatch.circuit.minCalls", 1, 100_000)),
                new GatewayConfig.Retention(values.atLeast("retention.finishedJobs", Duration.ofHours(1)),
                        values.atLeast("retention.deviceEvents", Duration.ofHours(1)), values.atLeast("retention.deadLetters", Duration.ofHours(1)),
                        values.atLeast("retention.audit", Duration.ofHours(1)), values.atLeast("retention.interval", Duration.ofSeconds(1)),
                        values.intIn("retention.batchSize", 1, 100_000)),
                values.positive("metrics.queueStatsInterval"),
                values.positive("shutdown.timeout"),
                values.oneOf("logging.format", "json", "plain"));
    }

    private GatewayConfig.Endpoint endpoint(String prefix) {
        String host = values.get(prefix + ".host");
        if (host.isEmpty()) {
            throw new ConfigException(prefix + ".host", "must not be empty");
        }
        return new GatewayConfig.Endpoint(host, values.intIn(prefix + ".port", 0, 65535));
    }

    private Optional<String> databaseUrl() {
        String url = values.get("database.url");
        if (url.isEmpty()) {
            return Optional.empty();
        }
        try {
            PgConnectOptions.fromUri(url);
        } catch (RuntimeException e) {
            throw new ConfigException("database.url", "not a postgresql://user:pass@host:port/db URL");
        }
        if (!url.startsWith("postgresql://") && !url.startsWith("postgres://")) {
            throw new ConfigException("database.url", "must start with postgresql://");
        }
        return Optional.of(url);
    }

    private GatewayConfig.Auth auth() {
        boolean disabled = "disabled".equals(values.get("auth.adminToken"));
        Optional<GatewayConfig.Oidc> oidc = oidc();
        if (disabled && oidc.isEmpty()) {
            throw new ConfigException("auth.adminToken", "is disabled and auth.oidc.issuer is not set: nobody could use "
                    + "the management API; set auth.oidc.issuer (and auth.oidc.audience) or give an admin token");
        }
        return new GatewayConfig.Auth(disabled ? Optional.empty() : token("auth.adminToken"), token("auth.ingestToken"),
                disabled, oidc);
    }

    private Optional<GatewayConfig.Oidc> oidc() {
        String issuer = values.get("auth.oidc.issuer");
        if (issuer.isEmpty()) {
            return Optional.empty();
        }
        URI uri;
        try {
            uri = new URI(issuer);
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException("auth.oidc.issuer", "not a URL: '" + issuer + "'");
        }
        String host = uri.getHost();
        boolean loopback = "localhost".equals(host) || "127.0.0.1".equals(host) || "[::1]".equals(host);
        if (host == null || !("https".equals(uri.getScheme()) || "http".equals(uri.getScheme()) && loopback)
                || uri.getQuery() != null || uri.getFragment() != null) {
            throw new ConfigException("auth.oidc.issuer", "must be an https URL without query or fragment (http only "
                    + "for localhost), got '" + issuer + "'");
        }
        String audience = values.get("auth.oidc.audience");
        if (audience.isEmpty()) {
            throw new ConfigException("auth.oidc.audience", "must be set with auth.oidc.issuer: tokens the provider "
                    + "issued for other applications must not open the management API");
        }
        if (audience.equals(values.get("auth.oidc.consoleClientId"))) {
            throw new ConfigException("auth.oidc.audience", "must not be the console's client id (auth.oidc.consoleClientId): "
                    + "ID tokens carry that audience; give the gateway's API its own audience");
        }
        for (String key : List.of("auth.oidc.rolesClaim", "auth.oidc.tenantsClaim")) {
            if (!values.get(key).matches("[A-Za-z0-9_:/.\\-]{1,200}")) {
                throw new ConfigException(key, "must be a claim name or dotted path (letters, digits, _ : / . -)");
            }
        }
        return Optional.of(new GatewayConfig.Oidc(issuer, audience, values.get("auth.oidc.rolesClaim"),
                values.get("auth.oidc.tenantsClaim"), values.get("auth.oidc.consoleClientId")));
    }

    private Optional<String> token(String key) {
        String value = values.get(key);
        if (value.isEmpty()) {
            return Optional.empty();
        }
        if (value.startsWith("sha256:")) {
            if (!value.substring(7).matches("[0-9a-fA-F]{64}")) {
                throw new ConfigException(key, "sha256: must be followed by 64 hex digits");
            }
        } else if (value.length() < 16) {
            throw new ConfigException(key, "too short: use at least 16 characters (or sha256:<hex>)");
        }
        return Optional.of(value);
    }

    private Optional<String> masterKey() {
        String value = values.get("security.masterKey");
        if (value.isEmpty()) {
            return Optional.empty();
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("security.masterKey", "not valid base64");
        }
        if (key.length != 32) {
            throw new ConfigException("security.masterKey", "must decode to 32 bytes (256 bits), got " + key.length);
        }
        return Optional.of(value);
    }

    private String httpUrl(String key) {
        String value = values.get(key);
        try {
            URI uri = new URI(value);
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                throw new ConfigException(key, "must be an absolute http(s) URL, got '" + value + "'");
            }
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException(key, "not a URL: '" + value + "'");
        }
        return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
    }


    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
