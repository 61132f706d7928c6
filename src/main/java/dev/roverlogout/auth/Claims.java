package dev.roverlogout.auth;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reading the claims of a person's token the way identity providers write them. */
final class Claims {
    private Claims() {
    }

    /**
     * The string values of a claim: a JSON array of strings, or one string of values separated by spaces or commas.
     * {@code path} is a claim name, or a dotted path into nested objects (Keycloak's {@code realm_access.roles}).
     */
    static Set<String> values(Map<String, Object> claims, String path) {
        Object value = claims.containsKey(path) ? claims.get(path) : null;
        if (value == null && path.contains(".")) {
            Object at = claims;
            for (String part : path.split("\\.")) {
                at = at instanceof Map<?, ?> m ? m.get(part) : null;
            }
            value = at;
        }
        Set<String> out = new LinkedHashSet<>();
        if (value instanceof String s) {
            for (String v : s.split("[\\s,]+")) {
                if (!v.isEmpty()) {
                    out.add(v);
                }
            }
        } else if (value instanceof List<?> list) {
            list.stream().filter(String.class::isInstance).map(String.class::cast).forEach(out::add);
        }
        return out;
    }

    static java.util.Optional<String> firstText(Map<String, Object> claims, String... names) {
        for (String n : names) {
            if (claims.get(n) instanceof String s && !s.isBlank()) {
                return java.util.Optional.of(s.length() > 200 ? s.substring(0, 200) : s);
            }
        }
        return java.util.Optional.empty();
    }
}
