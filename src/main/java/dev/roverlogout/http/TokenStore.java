package dev.roverlogout.http;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;

/**
 * Resolves the token of each role: the configured one, else one generated on first start and kept in
 * {@code <dataDir>/tokens.properties} (owner-only), reused on later starts. Blocking file I/O: call at start-up.
 */
public final class TokenStore {
    public static final String FILE_NAME = "tokens.properties";
    private static final Logger log = LoggerFactory.getLogger(TokenStore.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private TokenStore() {
    }

    public static Map<BearerAuth.Role, String> resolve(GatewayConfig.Auth auth, Path dataDir) {
        Map<BearerAuth.Role, String> tokens = new EnumMap<>(BearerAuth.Role.class);
        auth.adminToken().ifPresent(t -> tokens.put(BearerAuth.Role.ADMIN, t));
        auth.ingestToken().ifPresent(t -> tokens.put(BearerAuth.Role.INGEST, t));
        if (auth.adminTokenDisabled() && tokens.containsKey(BearerAuth.Role.INGEST)) {
            return tokens;
        }
        if (tokens.size() == BearerAuth.Role.values().length) {
            return tokens;
        }
        Path file = dataDir.resolve(FILE_NAME).toAbsolutePath();
        try {
            Properties stored = load(file);
            boolean changed = false;
            for (BearerAuth.Role role : BearerAuth.Role.values()) {
                if (tokens.containsKey(role) || role == BearerAuth.Role.ADMIN && auth.adminTokenDisabled()) {
                    continue;
                }
                String key = role.name().toLowerCase(Locale.ROOT);
                if (stored.getProperty(key) == null) {
                    stored.setProperty(key, newToken());
                    changed = true;
                }
                tokens.put(role, stored.getProperty(key));
            }
            if (changed) {
                save(file, stored);
                log.info("Generated bearer tokens for the roles not configured; they are in {} (owner-only)", file);
            } else {
                log.info("Using the generated bearer tokens in {}", file);
            }
            return tokens;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read or write the token file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The generated token of {@code role} stored in {@code dataDir}, if any (for the demo and tests). */
    public static Optional<String> stored(Path dataDir, BearerAuth.Role role) throws IOException {
        return Optional.ofNullable(load(dataDir.resolve(FILE_NAME)).getProperty(role.name().toLowerCase(Locale.ROOT)));
    }

    private static Properties load(Path file) throws IOException {
        Properties p = new Properties();
        if (Files.exists(file)) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(in);
            }
        }
        return p;
    }

    private static void save(Path file, Properties p) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING)) {
            p.store(out, "Rover Logout Gateway bearer tokens (generated). Keep secret.");
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static String newToken() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
