package dev.roverlogout.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * Bearer-token roles. Tokens are kept only as SHA-256 digests and compared with
 * {@link MessageDigest#isEqual} (constant time); every configured digest is compared on every request so the
 * time taken does not tell which role came close. Tokens are never logged.
 */
public final class BearerAuth {
    public enum Role { ADMIN, INGEST }

    private final Map<Role, byte[]> digests = new EnumMap<>(Role.class);

    /** @param tokens per role: a plaintext token or {@code sha256:<hex>} */
    public BearerAuth(Map<Role, String> tokens) {
        tokens.forEach((role, token) -> digests.put(role, digestOf(token)));
    }

    static byte[] digestOf(String configured) {
        if (configured.startsWith("sha256:")) {
            return HexFormat.of().parseHex(configured.substring(7).toLowerCase(java.util.Locale.ROOT));
        }
        return sha256(configured);
    }

    public static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always present", e);
        }
    }

    /**
     * The request's bearer token; when there is none, fails the request with 401 (saying how to send one) and
     * returns null.
     */
    public static String tokenOrFail(io.vertx.ext.web.RoutingContext ctx) {
        String token = bearerToken(ctx.request().getHeader("Authorization"));
        if (token == null) {
            ctx.fail(unauthorized("send Authorization: Bearer <token>"));
        }
        return token;
    }

    /** The token of an {@code Authorization: Bearer <token>} header; null when there is none. */
    public static String bearerToken(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() == 7) {
            return null;
        }
        String token = header.substring(7).trim();
        return token.isEmpty() ? null : token;
    }

    /** Which configured token has this digest (every digest compared, in constant time); empty = none. */
    public java.util.Optional<Role> roleOf(byte[] presented) {
        Role matched = null;
        for (Map.Entry<Role, byte[]> e : digests.entrySet()) {
            if (MessageDigest.isEqual(presented, e.getValue())) {
                matched = e.getKey();
            }
        }
        return java.util.Optional.ofNullable(matched);
    }

    /** 403: a known token without {@code role}. */
    public static Problem lacks(Role role) {
        return new Problem(403, "forbidden", "Forbidden", "this token lacks the role " + role.name().toLowerCase(java.util.Locale.ROOT));
    }

    public static Problem unauthorized(String detail) {
        return new Problem(401, "unauthorized", "Unauthorized", detail)
                .header("WWW-Authenticate", "Bearer realm=\"rover-logout-gateway\"");
    }
}
