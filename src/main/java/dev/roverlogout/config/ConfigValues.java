package dev.roverlogout.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The configuration as key → text, and its typed readers: each parses one key and throws a {@link ConfigException}
 * naming the key when the text is not a value of that type or is out of range. {@link ConfigLoader} fills it
 * (defaults, the file, RLG_* variables) and builds the records from it.
 */
final class ConfigValues {
    private final Map<String, String> raw;

    ConfigValues(Map<String, String> raw) {
        this.raw = raw;
    }

    String get(String key) {
        return raw.get(key);
    }

    void put(String key, String value) {
        raw.put(key, value);
    }

    Path path(String key) {
        String value = raw.get(key);
        if (value.isEmpty()) {
            throw new ConfigException(key, "must not be empty");
        }
        return Path.of(value);
    }

    int intIn(String key, int min, int max) {
        return (int) longIn(key, min, max);
    }

    long longIn(String key, long min, long max) {
        String value = raw.get(key);
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

    String oneOf(String key, String... allowed) {
        String value = raw.get(key);
        if (!java.util.List.of(allowed).contains(value)) {
            throw new ConfigException(key, "'" + value + "' is not one of " + String.join(", ", allowed));
        }
        return value;
    }

    /** A number in (0, 1]. */
    double ratio(String key) {
        String value = raw.get(key);
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

    boolean bool(String key) {
        String value = raw.get(key).toLowerCase(java.util.Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            throw new ConfigException(key, "'" + raw.get(key) + "' is not true or false");
        }
        return Boolean.parseBoolean(value);
    }

    Duration duration(String key) {
        try {
            return Durations.parse(raw.get(key));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key, e.getMessage());
        }
    }

    Duration positive(String key) {
        Duration d = duration(key);
        if (d.isZero()) {
            throw new ConfigException(key, "must be greater than zero");
        }
        return d;
    }

    /** At least {@code min}: a retention of "30m" (minutes, not months) would delete nearly everything. */
    Duration atLeast(String key, Duration min) {
        Duration d = duration(key);
        if (d.compareTo(min) < 0) {
            throw new ConfigException(key, Durations.format(d) + " is too short: at least " + Durations.format(min)
                    + " (write days as 30d)");
        }
        return d;
    }
}
