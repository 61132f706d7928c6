package dev.roverlogout.security;

import java.util.List;
import java.util.Map;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * jqwik generators of hostile JSON text: any value of any type, strings with every character (NUL, control
 * characters, unpaired surrogates written as escapes), numbers beyond every Java type, nesting, duplicate keys.
 * Written as text, not through a JSON library, so that what no library would produce can be sent.
 */
final class JsonText {
    private JsonText() {
    }

    /** A JSON string literal of {@code s}, escaping what JSON requires plus every surrogate (so lone ones survive). */
    /**
     * Raw strings as path segments: those with characters a URL cannot carry as they are (controls, non-ASCII, ? # /)
     * are percent-encoded, the rest go as they are (hostile encodings such as {@code %00} included).
     */
    static Arbitrary<String> asPathSegments(Arbitrary<String> raw) {
        return raw.map(s -> s.chars().anyMatch(c -> c < 0x21 || c > 0x7e || "?#/".indexOf(c) >= 0)
                ? java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8) : s);
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || Character.isSurrogate(c)) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    static Arbitrary<String> strings() {
        return Arbitraries.oneOf(
                Arbitraries.strings().all().ofMaxLength(40),
                Arbitraries.strings().withCharRange('\u0000', '\u001f').ofMinLength(1).ofMaxLength(5),
                Arbitraries.of("", " ", "\u0000", "\ud800", "\udc00x", "a\u0000b", "{DeviceUuId}", "%s", "${jndi:x}",
                        "2026-11-29T07:00:00Z", "2026-02-30T07:00:00Z", "0000-01-01T00:00:00Z", "99999-01-01T00:00:00Z",
                        "CHECK_IN", "CHECK_OUT", "check_in", "READY", "../../etc/passwd", "fz-ready", "https://169.254.169.254",
                        "x".repeat(129), "y".repeat(5000), "\uffff", "\ud83d\ude00"),
                Arbitraries.strings().ofMinLength(100).ofMaxLength(600)).map(JsonText::quote);
    }

    static Arbitrary<String> numbers() {
        return Arbitraries.oneOf(
                Arbitraries.integers().map(String::valueOf),
                Arbitraries.longs().map(String::valueOf),
                Arbitraries.doubles().map(String::valueOf).filter(s -> !s.contains("Infinity") && !s.contains("NaN")),
                Arbitraries.of("0", "-0", "1e400", "-1e400", "1e-400", "9223372036854775808", "-9223372036854775809",
                        "1" + "0".repeat(400), "0.1", "1.0", "20", "2147483648", "100000.0001", "1E2", "-1"));
    }

    static Arbitrary<String> leaves() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, strings()),
                Tuple.of(3, numbers()),
                Tuple.of(1, Arbitraries.of("true", "false", "null")));
    }

    /** Any JSON value up to {@code depth} levels of arrays and objects. */
    static Arbitrary<String> values(int depth) {
        if (depth == 0) {
            return leaves();
        }
        Arbitrary<String> inner = Arbitraries.lazy(() -> values(depth - 1));
        return Arbitraries.frequencyOf(
                Tuple.of(6, leaves()),
                Tuple.of(1, inner.list().ofMaxSize(4).map(l -> "[" + String.join(",", l) + "]")),
                Tuple.of(1, Combinators.combine(strings(), inner).as((k, v) -> k + ":" + v).list().ofMaxSize(4)
                        .map(l -> "{" + String.join(",", l) + "}")));
    }

    /**
     * {@code base} as a JSON object, mutated 1 to 3 times: a field's value replaced by any value, a field dropped, an
     * unknown field added, a key repeated with another value.
     */
    static Arbitrary<String> mutated(Map<String, String> base) {
        List<String> names = List.copyOf(base.keySet());
        Arbitrary<String> mutation = Arbitraries.oneOf(
                Combinators.combine(Arbitraries.of(names), values(2)).as((k, v) -> "set\u0001" + k + "\u0001" + v),
                Arbitraries.of(names).map(k -> "drop\u0001" + k),
                Combinators.combine(strings(), values(1)).as((k, v) -> "add\u0001" + k + "\u0001" + v),
                Combinators.combine(Arbitraries.of(names), values(1)).as((k, v) -> "dup\u0001" + k + "\u0001" + v));
        return mutation.list().ofMinSize(1).ofMaxSize(3).map(ms -> {
            Map<String, String> fields = new java.util.LinkedHashMap<>();
            base.forEach((k, v) -> fields.put(quote(k), v));
            StringBuilder extra = new StringBuilder();
            for (String m : ms) {
                String[] p = m.split("\u0001", 3);
                switch (p[0]) {
                    case "set" -> fields.put(quote(p[1]), p[2]);
                    case "drop" -> fields.remove(quote(p[1]));
                    case "add" -> fields.put(p[1], p[2]);
                    default -> extra.append(',').append(quote(p[1])).append(':').append(p[2]);
                }
            }
            StringBuilder b = new StringBuilder("{");
            fields.forEach((k, v) -> b.append(b.length() > 1 ? "," : "").append(k).append(':').append(v));
            if (fields.isEmpty() && extra.length() > 0) {
                extra.deleteCharAt(0);
            }
            return b.append(extra).append('}').toString();
        });
    }
}
