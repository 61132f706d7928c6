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

    private final Map<String, String> values = new HashMap<>(GatewayConfig.DEFAULTS);

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
                new GatewayConfig.Connections(positive("http.idleTimeout"), positive("http.headerTimeout"),
                        positive("http.bodyTimeout"), intIn("http.maxConnections", 0, 1_000_000)),
                new GatewayConfig.Database(databaseUrl(), path("database.embeddedDir"),
                        intIn("database.poolSize", 1, 200), duration("database.connectTimeout")),
                path("dataDir"),
                new GatewayConfig.Auth(token("auth.adminToken"), token("auth.ingestToken")),
                masterKey(),
                httpUrl("publicBaseUrl"),
                new GatewayConfig.Ingest(longIn("ingest.maxBacklog", 1, Long.MAX_VALUE), duration("ingest.retryAfter"),
                        positive("ingest.commitTimeout"), duration("ingest.groupCommit.window"),
                        intIn("ingest.groupCommit.maxEvents", 1, 100_000), intIn("ingest.groupCommit.writers", 1, 64),
                        intIn("ingest.rateLimitPerSecond", 0, 10_000_000)),
                new GatewayConfig.Epic(positive("epic.readinessProbeInterval")),
                new GatewayConfig.Keys(duration("keys.rotationGrace"), duration("keys.retireAfter")),
                new GatewayConfig.Dispatch(bool("dispatch.enabled"), positive("dispatch.leaseDuration"), positive("dispatch.pollInterval"),
                        intIn("dispatch.batchSize", 1, 10_000), positive("dispatch.maxAge"),
                        positive("dispatch.retry.base"), positive("dispatch.retry.cap"),
                        intIn("dispatch.retry.maxAttempts", 1, 1000), intIn("dispatch.circuit.maxFailures", 1, 10_000),
                        positive("dispatch.circuit.resetTimeout"), ratio("dispatch.circuit.failureRatio"),
                        intIn("dispatch.circuit.minCalls", 1, 100_000)),
                new GatewayConfig.Retention(atLeast("retention.finishedJobs", Duration.ofHours(1)),
                        atLeast("retention.deviceEvents", Duration.ofHours(1)), atLeast("retention.deadLetters", Duration.ofHours(1)),
                        atLeast("retention.audit", Duration.ofHours(1)), atLeast("retention.interval", Duration.ofSeconds(1)),
                        intIn("retention.batchSize", 1, 100_000)),
                positive("metrics.queueStatsInterval"),
                positive("shutdown.timeout"),
                oneOf("logging.format", "json", "plain"));
    }

    private GatewayConfig.Endpoint endpoint(String prefix) {
        String host = values.get(prefix + ".host");
        if (host.isEmpty()) {
            throw new ConfigException(prefix + ".host", "must not be empty");
        }
        return new GatewayConfig.Endpoint(host, intIn(prefix + ".port", 0, 65535));
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

    private Path path(String key) {
        String value = values.get(key);
        if (value.isEmpty()) {
            throw new ConfigException(key, "must not be empty");
        }
        return Path.of(value);
    }

    private int intIn(String key, int min, int max) {
        return (int) longIn(key, min, max);
    }

    private long longIn(String key, long min, long max) {
        String value = values.get(key);
        long n;
        try {
            n = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "'" + value + "' is not a whole number");
        }
        if (n < min || n > max) {
            throw new ConfigException(key, n + " is out of range " + min + ".." + max);
        }
        return n;
    }

    private String oneOf(String key, String... allowed) {
        String value = values.get(key);
        if (!java.util.List.of(allowed).contains(value)) {
            throw new ConfigException(key, "'" + value + "' is not one of " + String.join(", ", allowed));
        }
        return value;
    }

    /** A number in (0, 1]. */
    private double ratio(String key) {
        String value = values.get(key);
        double r;
        try {
            r = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "'" + value + "' is not a number");
        }
        if (!(r > 0 && r <= 1)) {
            throw new ConfigException(key, value + " is out of range: must be greater than 0 and at most 1");
        }
        return r;
    }

    private boolean bool(String key) {
        String value = values.get(key).toLowerCase(java.util.Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            throw new ConfigException(key, "'" + values.get(key) + "' is not true or false");
        }
        return Boolean.parseBoolean(value);
    }

    private Duration duration(String key) {
        try {
            return Durations.parse(values.get(key));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key, e.getMessage());
        }
    }

    private Duration positive(String key) {
        Duration d = duration(key);
        if (d.isZero()) {
            throw new ConfigException(key, "must be greater than zero");
        }
        return d;
    }

    /** At least {@code min}: a retention of "30m" (minutes, not months) would delete nearly everything. */
    private Duration atLeast(String key, Duration min) {
        Duration d = duration(key);
        if (d.compareTo(min) < 0) {
            throw new ConfigException(key, Durations.format(d) + " is too short: at least " + Durations.format(min)
                    + " (write days as 30d)");
        }
        return d;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
